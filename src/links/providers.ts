/**
 * Which realtime endpoint a call talks to, and how it authenticates (SPEC §2):
 * `REALTIME_URL` if set; else Azure if `AZURE_OPENAI_ENDPOINT` is set; else OpenAI if
 * `OPENAI_API_KEY` is set; else the built-in local emulator.
 */
import type { Config } from '../config/env.js';
import type { Dialect } from '../protocol/dialects.js';

export type ProviderKind = 'custom' | 'azure' | 'azure-preview' | 'openai' | 'emulator';

export interface RealtimeEndpoint {
  kind: ProviderKind;
  /** WebSocket URL, without credentials. */
  url: string;
  /** Handshake headers, credentials included: never log them. */
  headers: Record<string, string>;
  dialect: Dialect;
  /** One line for humans, free of secrets: `OpenAI gpt-realtime (ga)`. */
  label: string;
}

/** Path the emulator is mounted at inside the bridge when no credentials are configured. */
export const EMULATOR_PATH = '/emulator/v1/realtime';

/** Azure preview api-versions speak the beta dialect; anything else is GA. */
function isPreviewVersion(apiVersion: string | null): boolean {
  return apiVersion !== null && /preview/i.test(apiVersion);
}

/**
 * Resolves the endpoint for `config`.
 * @param emulatorUrl where the local emulator listens (used only when nothing else is configured)
 */
export function resolveRealtimeEndpoint(config: Config, emulatorUrl: string): RealtimeEndpoint {
  const withDialect = (fallback: Dialect): Dialect => config.realtimeDialect ?? fallback;

  if (config.realtimeUrl !== null) {
    const dialect = withDialect(config.azure !== null && isPreviewVersion(config.azure.apiVersion) ? 'beta' : 'ga');
    const headers = authHeaders(config, dialect);
    return {
      kind: 'custom',
      url: config.realtimeUrl,
      headers,
      dialect,
      label: `REALTIME_URL ${safeOrigin(config.realtimeUrl)} (${dialect})`,
    };
  }

  if (config.azure !== null) {
    const { endpoint, deployment, apiVersion } = config.azure;
    const base = endpoint.replace(/^https:/, 'wss:');
    if (apiVersion !== null) {
      const dialect = withDialect(isPreviewVersion(apiVersion) ? 'beta' : 'ga');
      const url =
        `${base}/openai/realtime?api-version=${encodeURIComponent(apiVersion)}` +
        `&deployment=${encodeURIComponent(deployment)}`;
      return {
        kind: 'azure-preview',
        url,
        headers: authHeaders(config, dialect),
        dialect,
        label: `Azure OpenAI ${safeOrigin(base)} deployment ${deployment} api-version ${apiVersion} (${dialect})`,
      };
    }
    const dialect = withDialect('ga');
    const url = `${base}/openai/v1/realtime?model=${encodeURIComponent(deployment)}`;
    return {
      kind: 'azure',
      url,
      headers: authHeaders(config, dialect),
      dialect,
      label: `Azure OpenAI ${safeOrigin(base)} deployment ${deployment} (${dialect})`,
    };
  }

  if (config.openaiApiKey !== null) {
    const dialect = withDialect('ga');
    const url = `wss://api.openai.com/v1/realtime?model=${encodeURIComponent(config.realtimeModel)}`;
    return {
      kind: 'openai',
      url,
      headers: authHeaders(config, dialect),
      dialect,
      label: `OpenAI ${config.realtimeModel} (${dialect})`,
    };
  }

  const dialect = withDialect('ga');
  // The emulator picks its dialect from the handshake, like the services did before 2026.
  const headers: Record<string, string> = dialect === 'beta' ? { 'OpenAI-Beta': 'realtime=v1' } : {};
  return {
    kind: 'emulator',
    url: emulatorUrl,
    headers,
    dialect,
    label:
      `local realtime emulator at ${emulatorUrl} (${dialect}); ` +
      'set OPENAI_API_KEY or AZURE_OPENAI_* to use a real model',
  };
}

/**
 * OpenAI → `Authorization: Bearer` (+ `OpenAI-Beta` in beta); Azure → `api-key`. With
 * REALTIME_URL the configured key is sent the same way.
 */
function authHeaders(config: Config, dialect: Dialect): Record<string, string> {
  const headers: Record<string, string> = {};
  if (config.azure !== null) {
    headers['api-key'] = config.azure.apiKey;
  } else if (config.openaiApiKey !== null) {
    headers['Authorization'] = `Bearer ${config.openaiApiKey}`;
    if (dialect === 'beta') headers['OpenAI-Beta'] = 'realtime=v1';
  }
  return headers;
}

function safeOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * The endpoint for a profile's own `model` (SPEC §11): the URL's `model` query (OpenAI, Azure
 * GA, the emulator) or `deployment` (Azure preview) names it; a REALTIME_URL without either
 * gets `model` added. Without a profile model the endpoint is returned unchanged.
 */
export function endpointForModel(endpoint: RealtimeEndpoint, model: string | undefined): RealtimeEndpoint {
  if (model === undefined) return endpoint;
  let url: URL;
  try {
    url = new URL(endpoint.url);
  } catch {
    return endpoint;
  }
  const param = url.searchParams.has('deployment') && !url.searchParams.has('model') ? 'deployment' : 'model';
  url.searchParams.set(param, model);
  return { ...endpoint, url: url.toString(), label: `${endpoint.label} model ${model}` };
}
