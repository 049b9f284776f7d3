/**
 * Twilio request authentication (SPEC §5, PROTOCOLS.md §2.3–2.4).
 *
 * Webhooks: `X-Twilio-Signature` is checked with the `twilio` package's own validator
 * against the public URL (PUBLIC_URL + path + query, never the Host a proxy rewrote) and the
 * POST parameters. In local mode (no TWILIO_AUTH_TOKEN) nothing can be verified, so only
 * local requests are accepted: a loopback peer that no proxy or tunnel forwarded
 * (see `local-request.ts`).
 *
 * Media WebSocket upgrades: Twilio's documentation disagrees on whether they are signed, so
 * a missing header is allowed (the one-time stream token is the real gate); a present header
 * must validate for the `wss://` URL, with or without a trailing slash.
 */
import type { IncomingMessage } from 'node:http';

import { validateRequest } from 'twilio/lib/webhooks/webhooks.js';

import { forwardingHeader, isLoopbackAddress } from './local-request.js';

export type AuthDecision =
  { ok: true } | { ok: false; reason: 'missing_signature' | 'bad_signature' | 'not_loopback' | 'forwarded' };

export interface SignatureSettings {
  /** null = local mode */
  authToken: string | null;
  /** configured public base URL, no trailing slash; null = derive from the request */
  publicUrl: string | null;
  /**
   * Believe `X-Forwarded-Proto`/`X-Forwarded-Host` when deriving the public URL (TRUST_PROXY=1).
   * Off by default: any client can send them, and the URL decides which signatures validate.
   */
  trustProxy: boolean;
}

/** Local mode's gate: a loopback peer and no forwarding header. */
function localOnly(req: IncomingMessage): AuthDecision {
  if (!isLoopbackAddress(req.socket.remoteAddress)) return { ok: false, reason: 'not_loopback' };
  return forwardingHeader(req) === null ? { ok: true } : { ok: false, reason: 'forwarded' };
}

function firstHeader(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s?.split(',')[0]?.trim() || undefined;
}

/**
 * The base URL (`https://host[:port][/prefix]`) Twilio used to reach us: PUBLIC_URL when
 * configured, else rebuilt from `Host` and the socket — and from `X-Forwarded-Proto`/
 * `X-Forwarded-Host` only when the operator said a proxy of theirs sets them (`trustProxy`).
 */
export function publicBaseUrl(
  req: IncomingMessage,
  settings: Pick<SignatureSettings, 'publicUrl' | 'trustProxy'>,
): string {
  if (settings.publicUrl !== null) return settings.publicUrl;
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const forwardedProto = settings.trustProxy ? firstHeader(req, 'x-forwarded-proto') : undefined;
  const forwardedHost = settings.trustProxy ? firstHeader(req, 'x-forwarded-host') : undefined;
  const proto = forwardedProto ?? (encrypted ? 'https' : 'http');
  const host = forwardedHost ?? firstHeader(req, 'host') ?? 'localhost';
  return `${proto}://${host}`;
}

/** The WebSocket flavour of a base URL: https → wss, http → ws. */
export function toWebSocketBase(baseUrl: string): string {
  return baseUrl.replace(/^https:/i, 'wss:').replace(/^http:/i, 'ws:');
}

/**
 * Checks a form-encoded webhook.
 * @param pathAndQuery the request's path and query as received (`/twilio/voice?x=1`)
 * @param params the parsed POST body (all of it: Twilio signs every parameter it sent)
 */
export function checkWebhookRequest(
  settings: SignatureSettings,
  req: IncomingMessage,
  pathAndQuery: string,
  params: Record<string, unknown>,
): AuthDecision {
  if (settings.authToken === null) return localOnly(req);
  const signature = firstHeaderRaw(req, 'x-twilio-signature');
  if (signature === undefined) return { ok: false, reason: 'missing_signature' };
  const url = publicBaseUrl(req, settings) + pathAndQuery;
  return validateRequest(settings.authToken, signature, url, params as Record<string, string>)
    ? { ok: true }
    : { ok: false, reason: 'bad_signature' };
}

/**
 * Checks a media-stream WebSocket upgrade. Only a present-but-invalid signature is refused;
 * in local mode the request must be local (loopback, not forwarded).
 */
export function checkMediaUpgrade(settings: SignatureSettings, req: IncomingMessage): AuthDecision {
  if (settings.authToken === null) return localOnly(req);
  const signature = firstHeaderRaw(req, 'x-twilio-signature');
  if (signature === undefined) return { ok: true };
  const u = new URL(req.url ?? '/', 'ws://placeholder');
  const url = toWebSocketBase(publicBaseUrl(req, settings)) + u.pathname + u.search;
  const candidates = [url, url.endsWith('/') ? url.slice(0, -1) : `${url}/`];
  return candidates.some((c) => validateRequest(settings.authToken!, signature, c, {}))
    ? { ok: true }
    : { ok: false, reason: 'bad_signature' };
}

function firstHeaderRaw(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
