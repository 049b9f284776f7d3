/**
 * Environment → typed {@link Config} (SPEC §2). Every variable is optional; a bad value
 * stops start-up with one {@link ConfigError} whose message names the variable, says what
 * is wrong with the value and how to fix it. Secret values are never echoed back.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

import { z } from 'zod';

import type { Dialect } from '../protocol/dialects.js';
import { ConfigError } from '../util/errors.js';
import { EXAMPLE_NUMBERS_FILE } from '../util/project-files.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface AzureConfig {
  /** `https://<resource>.openai.azure.com` (no trailing slash) */
  endpoint: string;
  apiKey: string;
  deployment: string;
  /** Set only for the preview protocol (`/openai/realtime?api-version=…`). */
  apiVersion: string | null;
}

export interface Config {
  port: number;
  host: string;
  /** Public base URL Twilio reaches (no trailing slash), or null to derive it from each request. */
  publicUrl: string | null;
  twilioAuthToken: string | null;
  twilioAccountSid: string | null;
  /** replaces https://api.twilio.com for REST calls (tests, proxies) */
  twilioApiBaseUrl: string | null;
  openaiApiKey: string | null;
  realtimeModel: string;
  azure: AzureConfig | null;
  realtimeUrl: string | null;
  /** Dialect asked for explicitly with REALTIME_DIALECT; null lets the provider decide. */
  realtimeDialect: Dialect | null;
  numbersFile: string;
  /** EMULATOR_SCRIPT: what the local emulator does on given caller turns (`emulator/script.ts`); null = its defaults */
  emulatorScript: string | null;
  dataDir: string;
  recordCalls: boolean;
  adminToken: string | null;
  logLevel: LogLevel;
  /** How long SIGTERM waits for live calls before ending them. */
  drainTimeoutS: number;
  /** While draining, new calls are redirected here (another instance) instead of refused. */
  drainRedirectUrl: string | null;
  /** No TWILIO_AUTH_TOKEN: unsigned requests are accepted, from loopback only. */
  localMode: boolean;
  /** bearer token `/metrics` asks for; null = open */
  metricsToken: string | null;
  /** trust `X-Forwarded-Proto`/`X-Forwarded-Host` when rebuilding the public URL (behind your own proxy) */
  trustProxy: boolean;
  /** live calls per instance, counting webhooks whose stream has not started yet (SPEC §8) */
  maxConcurrentCalls: number;
  /** open and configure the model session when the webhook is accepted (SPEC §11 warm start; PREWARM, default on) */
  prewarm: boolean;
  /** warm sessions waiting for their stream at most (PREWARM_MAX, default 20) */
  prewarmMax: number;
  /** a started stream silent this long is ended (outcome `error`, reason `media_timeout`) */
  mediaTimeoutS: number;
  /** a call is ended cleanly after this long (reason `max_duration`) */
  maxCallDurationS: number;
  /** recordings beyond this many GB (10^9 bytes) are deleted, oldest first */
  recordingsMaxGb: number;
  /** recordings older than this are deleted */
  recordingsRetentionDays: number;
  /** open TCP connections the HTTP server accepts; more are refused */
  maxConnections: number;
  /** signs tool, context and event requests (`x-bridge-signature`, SPEC §9); null = unsigned */
  bridgeSigningSecret: string | null;
  /** where call events go when a profile has no `webhooks` (SPEC §10); null = nowhere */
  eventsUrl: string | null;
  /** PostgreSQL shared by several instances (SPEC §14); null = SQLite in DATA_DIR */
  databaseUrl: string | null;
  /** this instance's name among several (SPEC §14 `INSTANCE_ID`, default `<host>-<pid>`) */
  instanceId: string;
  /** outbound calls (SPEC §13): live and ringing at once; more → 429 */
  outboundMaxConcurrent: number;
  /** outbound calls created per second; more wait their turn */
  outboundCps: number;
  /** E.164 prefixes outbound calls may reach; null = the country prefix of each call's `from` */
  outboundAllow: string[] | null;
}

/** Variables whose values are secrets: never quoted in errors, redacted in logs. */
export const SECRET_VARIABLES = [
  'TWILIO_AUTH_TOKEN',
  'OPENAI_API_KEY',
  'AZURE_OPENAI_API_KEY',
  'ADMIN_TOKEN',
  'METRICS_TOKEN',
  'BRIDGE_SIGNING_SECRET',
  // may carry the database password
  'DATABASE_URL',
] as const;

/**
 * Shortest bearer token accepted for ADMIN_TOKEN and METRICS_TOKEN: 16 random characters are
 * out of reach of online guessing, while a short word would be found by any scanner.
 */
export const MIN_BEARER_TOKEN_LENGTH = 16;

/**
 * Connections each call may hold: the Twilio media socket, the model socket when the emulator
 * runs in-process, and its webhooks. The connection cap defaults to this many per allowed call,
 * plus room for admin and health requests.
 */
const CONNECTIONS_PER_CALL = 3;
const SPARE_CONNECTIONS = 64;

const optionalText = z
  .string()
  .transform((s) => s.trim())
  .optional()
  .transform((s) => (s === undefined || s === '' ? null : s));

function urlVar(protocols: readonly string[], example: string) {
  return optionalText.superRefine((value, ctx) => {
    if (value === null) return;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `is not a URL; expected something like ${example}` });
      return;
    }
    if (!protocols.includes(url.protocol)) {
      ctx.addIssue({
        code: 'custom',
        message:
          `has scheme ${url.protocol.replace(':', '')}; ` +
          `expected ${protocols.map((p) => p.replace(':', '')).join(' or ')} (e.g. ${example})`,
      });
    }
  });
}

const booleanVar = optionalText.superRefine((value, ctx) => {
  if (value !== null && !/^(1|0|true|false|yes|no|on|off)$/i.test(value)) {
    ctx.addIssue({ code: 'custom', message: 'is not a switch; use 1 or 0' });
  }
});

function integerVar(min: number, max: number, example: string) {
  return optionalText.superRefine((value, ctx) => {
    if (value === null) return;
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `is not an integer from ${min} to ${max} (e.g. ${example})` });
    }
  });
}

/** A positive decimal such as `10` or `0.5`. */
function decimalVar(min: number, max: number, example: string) {
  return optionalText.superRefine((value, ctx) => {
    if (value === null) return;
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `is not a number from ${min} to ${max} (e.g. ${example})` });
    }
  });
}

/** A bearer token: long enough not to be guessed (the value itself is never echoed). */
const bearerTokenVar = optionalText.superRefine((value, ctx) => {
  if (value !== null && value.length < MIN_BEARER_TOKEN_LENGTH) {
    ctx.addIssue({
      code: 'custom',
      message: `is shorter than ${MIN_BEARER_TOKEN_LENGTH} characters`,
    });
  }
});

function enumVar(values: readonly string[]) {
  return optionalText.superRefine((value, ctx) => {
    if (value !== null && !values.includes(value)) {
      ctx.addIssue({ code: 'custom', message: `is not one of ${values.join(', ')}` });
    }
  });
}

const E164 = /^\+[1-9]\d{1,14}$/;

const EnvSchema = z.object({
  PORT: integerVar(0, 65535, 'PORT=3000'),
  HOST: optionalText,
  PUBLIC_URL: urlVar(['https:', 'http:'], 'https://abc123.ngrok.app'),
  TWILIO_AUTH_TOKEN: optionalText,
  TWILIO_API_BASE_URL: urlVar(['https:', 'http:'], 'http://127.0.0.1:9000'),
  TWILIO_ACCOUNT_SID: optionalText.superRefine((v, ctx) => {
    if (v !== null && !/^AC[0-9a-fA-F]{32}$/.test(v)) {
      ctx.addIssue({
        code: 'custom',
        message: 'is not an Account SID; expected AC followed by 32 hex digits (Twilio console → Account info)',
      });
    }
  }),
  OPENAI_API_KEY: optionalText,
  REALTIME_MODEL: optionalText,
  AZURE_OPENAI_ENDPOINT: urlVar(['https:', 'wss:'], 'https://my-resource.openai.azure.com'),
  AZURE_OPENAI_API_KEY: optionalText,
  AZURE_OPENAI_DEPLOYMENT: optionalText,
  AZURE_OPENAI_API_VERSION: optionalText,
  REALTIME_URL: urlVar(['wss:', 'ws:'], 'wss://gateway.example.com/v1/realtime?model=gpt-realtime'),
  REALTIME_DIALECT: enumVar(['ga', 'beta']),
  NUMBERS_FILE: optionalText,
  EMULATOR_SCRIPT: optionalText,
  DATA_DIR: optionalText,
  RECORD_CALLS: booleanVar,
  ADMIN_TOKEN: bearerTokenVar,
  METRICS_TOKEN: bearerTokenVar,
  TRUST_PROXY: booleanVar,
  MAX_CONCURRENT_CALLS: integerVar(1, 100_000, 'MAX_CONCURRENT_CALLS=200'),
  PREWARM: booleanVar,
  PREWARM_MAX: integerVar(0, 10_000, 'PREWARM_MAX=20'),
  MEDIA_TIMEOUT_S: integerVar(1, 3_600, 'MEDIA_TIMEOUT_S=15'),
  MAX_CALL_DURATION_S: integerVar(1, 86_400, 'MAX_CALL_DURATION_S=3600'),
  RECORDINGS_MAX_GB: decimalVar(0.001, 1_000_000, 'RECORDINGS_MAX_GB=10'),
  RECORDINGS_RETENTION_DAYS: integerVar(1, 36_500, 'RECORDINGS_RETENTION_DAYS=30'),
  MAX_CONNECTIONS: integerVar(1, 1_000_000, 'MAX_CONNECTIONS=1000'),
  LOG_LEVEL: enumVar(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  DRAIN_TIMEOUT_S: integerVar(0, 86_400, 'DRAIN_TIMEOUT_S=600'),
  DRAIN_REDIRECT_URL: urlVar(['https:', 'http:'], 'https://bridge-2.example.com/twilio/voice'),
  BRIDGE_SIGNING_SECRET: bearerTokenVar,
  EVENTS_URL: urlVar(['https:', 'http:'], 'https://crm.example.com/bridge-events'),
  DATABASE_URL: urlVar(['postgres:', 'postgresql:'], 'postgres://bridge@db.internal:5432/bridge'),
  INSTANCE_ID: optionalText.superRefine((v, ctx) => {
    if (v !== null && !/^[A-Za-z0-9._-]{1,64}$/.test(v))
      ctx.addIssue({ code: 'custom', message: 'must be 1–64 letters, digits, dots, dashes or underscores' });
  }),
  OUTBOUND_MAX_CONCURRENT: integerVar(1, 100_000, 'OUTBOUND_MAX_CONCURRENT=10'),
  OUTBOUND_CPS: decimalVar(0.01, 1_000, 'OUTBOUND_CPS=1'),
  OUTBOUND_ALLOW: optionalText.superRefine((value, ctx) => {
    if (value === null) return;
    const bad = value.split(',').find((p) => !/^\+\d{1,15}$/.test(p.trim()));
    if (bad !== undefined) ctx.addIssue({ code: 'custom', message: `has ${JSON.stringify(bad)}, not a + prefix` });
  }),
});

const FIXES: Partial<Record<keyof z.infer<typeof EnvSchema>, string>> = {
  PORT: 'set PORT to a free TCP port, e.g. PORT=3000',
  PUBLIC_URL: 'set PUBLIC_URL to the https address Twilio reaches, e.g. your tunnel URL',
  TWILIO_API_BASE_URL: 'unset it to use https://api.twilio.com, or give the base URL of your proxy',
  TWILIO_ACCOUNT_SID: 'copy the Account SID from the Twilio console, or unset it',
  AZURE_OPENAI_ENDPOINT: 'use the resource endpoint from the Azure portal, e.g. https://my-resource.openai.azure.com',
  REALTIME_URL: 'use the full WebSocket URL of the realtime endpoint',
  REALTIME_DIALECT: 'use ga (current API) or beta (2024 preview shape)',
  RECORD_CALLS: 'use RECORD_CALLS=1 to record calls or RECORD_CALLS=0 not to',
  PREWARM: 'use PREWARM=1 to open the model session at the webhook (default) or PREWARM=0 to open it at stream start',
  PREWARM_MAX: 'use the number of warm sessions that may wait for their stream, e.g. PREWARM_MAX=20',
  LOG_LEVEL: 'use e.g. LOG_LEVEL=info',
  DRAIN_TIMEOUT_S: 'use a number of seconds, e.g. DRAIN_TIMEOUT_S=600',
  DRAIN_REDIRECT_URL:
    'use the voice webhook URL of another bridge instance, or unset it to refuse new calls politely while draining',
  ADMIN_TOKEN: `use a random value of at least ${MIN_BEARER_TOKEN_LENGTH} characters, e.g. openssl rand -hex 24`,
  METRICS_TOKEN: `use a random value of at least ${MIN_BEARER_TOKEN_LENGTH} characters, or unset it`,
  TRUST_PROXY: 'use TRUST_PROXY=1 only when your own proxy sets X-Forwarded-Proto and X-Forwarded-Host',
  MAX_CONCURRENT_CALLS: 'use the number of calls one instance may hold, e.g. MAX_CONCURRENT_CALLS=200',
  MEDIA_TIMEOUT_S: 'use a number of seconds, e.g. MEDIA_TIMEOUT_S=15',
  MAX_CALL_DURATION_S: 'use a number of seconds, e.g. MAX_CALL_DURATION_S=3600',
  RECORDINGS_MAX_GB: 'use a size in GB, e.g. RECORDINGS_MAX_GB=10',
  RECORDINGS_RETENTION_DAYS: 'use a number of days, e.g. RECORDINGS_RETENTION_DAYS=30',
  MAX_CONNECTIONS: 'use a number of TCP connections, e.g. MAX_CONNECTIONS=1000',
  BRIDGE_SIGNING_SECRET: `use a random value of at least ${MIN_BEARER_TOKEN_LENGTH} characters (openssl rand -hex 32)`,
  EVENTS_URL: 'use the http(s) URL that receives call events, or unset it',
  DATABASE_URL: 'use postgres://user:password@host:5432/database, or unset it to keep SQLite in DATA_DIR',
  INSTANCE_ID: 'use a short name such as bridge-1, or unset it for <host>-<pid>',
  OUTBOUND_MAX_CONCURRENT: 'use the number of outbound calls allowed at once, e.g. OUTBOUND_MAX_CONCURRENT=10',
  OUTBOUND_CPS: "use calls per second, e.g. OUTBOUND_CPS=1 (Twilio's default account limit)",
  OUTBOUND_ALLOW: 'use comma-separated E.164 prefixes, e.g. OUTBOUND_ALLOW=+1,+44',
};

function isOn(value: string | null): boolean | null {
  if (value === null) return null;
  return /^(1|true|yes|on)$/i.test(value);
}

/**
 * Reads the configuration from `env`. Throws a {@link ConfigError} on the first bad value.
 * @param cwd directory that relative paths (numbers file, data dir) are resolved against
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0]) as keyof z.infer<typeof EnvSchema>;
    const raw = env[variable] ?? '';
    const shown = (SECRET_VARIABLES as readonly string[]).includes(variable) ? '(secret value)' : JSON.stringify(raw);
    const fix = FIXES[variable];
    throw new ConfigError(variable, `${variable}=${shown} ${issue.message}${fix ? `. Fix: ${fix}` : ''}`);
  }
  const e = parsed.data;

  let azure: AzureConfig | null = null;
  if (e.AZURE_OPENAI_ENDPOINT !== null) {
    if (e.AZURE_OPENAI_API_KEY === null) {
      throw new ConfigError(
        'AZURE_OPENAI_API_KEY',
        'AZURE_OPENAI_API_KEY is missing while AZURE_OPENAI_ENDPOINT is set. ' +
          'Fix: set the key from the Azure portal (Keys and Endpoint)',
      );
    }
    if (e.AZURE_OPENAI_DEPLOYMENT === null) {
      throw new ConfigError(
        'AZURE_OPENAI_DEPLOYMENT',
        'AZURE_OPENAI_DEPLOYMENT is missing while AZURE_OPENAI_ENDPOINT is set. ' +
          'Fix: set it to the name of your realtime deployment, e.g. gpt-realtime',
      );
    }
    azure = {
      endpoint: e.AZURE_OPENAI_ENDPOINT.replace(/\/+$/, ''),
      apiKey: e.AZURE_OPENAI_API_KEY,
      deployment: e.AZURE_OPENAI_DEPLOYMENT,
      apiVersion: e.AZURE_OPENAI_API_VERSION,
    };
  }

  const localMode = e.TWILIO_AUTH_TOKEN === null;
  const maxConcurrentCalls = e.MAX_CONCURRENT_CALLS === null ? 200 : Number(e.MAX_CONCURRENT_CALLS);
  let numbersFile: string;
  if (e.NUMBERS_FILE !== null) {
    numbersFile = path.resolve(cwd, e.NUMBERS_FILE);
  } else {
    const local = path.resolve(cwd, 'numbers.yaml');
    numbersFile = existsSync(local) ? local : EXAMPLE_NUMBERS_FILE;
  }

  return {
    port: e.PORT === null ? 3000 : Number(e.PORT),
    host: e.HOST ?? '0.0.0.0',
    publicUrl: e.PUBLIC_URL === null ? null : e.PUBLIC_URL.replace(/\/+$/, ''),
    twilioAuthToken: e.TWILIO_AUTH_TOKEN,
    twilioAccountSid: e.TWILIO_ACCOUNT_SID,
    twilioApiBaseUrl: e.TWILIO_API_BASE_URL === null ? null : e.TWILIO_API_BASE_URL.replace(/\/+$/, ''),
    openaiApiKey: e.OPENAI_API_KEY,
    realtimeModel: e.REALTIME_MODEL ?? 'gpt-realtime',
    azure,
    realtimeUrl: e.REALTIME_URL,
    realtimeDialect: e.REALTIME_DIALECT as Dialect | null,
    numbersFile,
    emulatorScript: e.EMULATOR_SCRIPT === null ? null : path.resolve(cwd, e.EMULATOR_SCRIPT),
    dataDir: path.resolve(cwd, e.DATA_DIR ?? 'data'),
    recordCalls: isOn(e.RECORD_CALLS) ?? localMode,
    adminToken: e.ADMIN_TOKEN,
    logLevel: (e.LOG_LEVEL ?? 'info') as LogLevel,
    drainTimeoutS: e.DRAIN_TIMEOUT_S === null ? 600 : Number(e.DRAIN_TIMEOUT_S),
    drainRedirectUrl: e.DRAIN_REDIRECT_URL,
    localMode,
    metricsToken: e.METRICS_TOKEN,
    trustProxy: isOn(e.TRUST_PROXY) ?? false,
    maxConcurrentCalls,
    prewarm: isOn(e.PREWARM) ?? true,
    prewarmMax: e.PREWARM_MAX === null ? 20 : Number(e.PREWARM_MAX),
    mediaTimeoutS: e.MEDIA_TIMEOUT_S === null ? 15 : Number(e.MEDIA_TIMEOUT_S),
    maxCallDurationS: e.MAX_CALL_DURATION_S === null ? 3_600 : Number(e.MAX_CALL_DURATION_S),
    recordingsMaxGb: e.RECORDINGS_MAX_GB === null ? 10 : Number(e.RECORDINGS_MAX_GB),
    recordingsRetentionDays: e.RECORDINGS_RETENTION_DAYS === null ? 30 : Number(e.RECORDINGS_RETENTION_DAYS),
    maxConnections:
      e.MAX_CONNECTIONS === null
        ? maxConcurrentCalls * CONNECTIONS_PER_CALL + SPARE_CONNECTIONS
        : Number(e.MAX_CONNECTIONS),
    bridgeSigningSecret: e.BRIDGE_SIGNING_SECRET,
    eventsUrl: e.EVENTS_URL,
    databaseUrl: e.DATABASE_URL,
    instanceId: e.INSTANCE_ID ?? `${hostname()}-${process.pid}`,
    outboundMaxConcurrent: e.OUTBOUND_MAX_CONCURRENT === null ? 10 : Number(e.OUTBOUND_MAX_CONCURRENT),
    outboundCps: e.OUTBOUND_CPS === null ? 1 : Number(e.OUTBOUND_CPS),
    outboundAllow: e.OUTBOUND_ALLOW === null ? null : e.OUTBOUND_ALLOW.split(',').map((p) => p.trim()),
  };
}

/** The configured secret values, for the shared {@link Redactor}. */
export function configSecrets(config: Config): string[] {
  return [
    config.twilioAuthToken,
    config.openaiApiKey,
    config.azure?.apiKey,
    config.adminToken,
    config.metricsToken,
    config.bridgeSigningSecret,
    databasePassword(config.databaseUrl),
  ].filter((s): s is string => typeof s === 'string');
}

function databasePassword(url: string | null): string | null {
  if (url === null) return null;
  const password = decodeURIComponent(new URL(url).password);
  return password === '' ? null : password;
}

/** True for a valid E.164 number (`+` then up to 15 digits, no leading zero). */
export function isE164(value: string): boolean {
  return E164.test(value);
}
