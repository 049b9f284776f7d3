/**
 * Twilio request authentication (SPEC §5, PROTOCOLS.md §2.3–2.4).
 *
 * Webhooks: `X-Twilio-Signature` is checked with the `twilio` package's own validator
 * against the public URL (PUBLIC_URL + path + query, never the Host a proxy rewrote) and the
 * POST parameters. In local mode (no TWILIO_AUTH_TOKEN) nothing can be verified, so only
 * loopback peers are accepted.
 *
 * Media WebSocket upgrades: Twilio's documentation disagrees on whether they are signed, so
 * a missing header is allowed (the one-time stream token is the real gate); a present header
 * must validate for the `wss://` URL, with or without a trailing slash.
 */
import type { IncomingMessage } from 'node:http';

import twilio from 'twilio';

export type AuthDecision = { ok: true } | { ok: false; reason: 'missing_signature' | 'bad_signature' | 'not_loopback' };

export interface SignatureSettings {
  /** null = local mode */
  authToken: string | null;
  /** configured public base URL, no trailing slash; null = derive from the request */
  publicUrl: string | null;
}

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

function firstHeader(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s?.split(',')[0]?.trim() || undefined;
}

/**
 * The base URL (`https://host[:port][/prefix]`) Twilio used to reach us: PUBLIC_URL when
 * configured, else rebuilt from `X-Forwarded-Proto`/`X-Forwarded-Host`/`Host`.
 */
export function publicBaseUrl(req: IncomingMessage, publicUrl: string | null): string {
  if (publicUrl !== null) return publicUrl;
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const proto = firstHeader(req, 'x-forwarded-proto') ?? (encrypted ? 'https' : 'http');
  const host = firstHeader(req, 'x-forwarded-host') ?? firstHeader(req, 'host') ?? 'localhost';
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
  if (settings.authToken === null) {
    return isLoopbackAddress(req.socket.remoteAddress) ? { ok: true } : { ok: false, reason: 'not_loopback' };
  }
  const signature = firstHeaderRaw(req, 'x-twilio-signature');
  if (signature === undefined) return { ok: false, reason: 'missing_signature' };
  const url = publicBaseUrl(req, settings.publicUrl) + pathAndQuery;
  return twilio.validateRequest(settings.authToken, signature, url, params as Record<string, string>)
    ? { ok: true }
    : { ok: false, reason: 'bad_signature' };
}

/**
 * Checks a media-stream WebSocket upgrade. Only a present-but-invalid signature is refused;
 * in local mode the peer must be on loopback.
 */
export function checkMediaUpgrade(settings: SignatureSettings, req: IncomingMessage): AuthDecision {
  if (settings.authToken === null) {
    return isLoopbackAddress(req.socket.remoteAddress) ? { ok: true } : { ok: false, reason: 'not_loopback' };
  }
  const signature = firstHeaderRaw(req, 'x-twilio-signature');
  if (signature === undefined) return { ok: true };
  const u = new URL(req.url ?? '/', 'ws://placeholder');
  const url = toWebSocketBase(publicBaseUrl(req, settings.publicUrl)) + u.pathname + u.search;
  const candidates = [url, url.endsWith('/') ? url.slice(0, -1) : `${url}/`];
  return candidates.some((c) => twilio.validateRequest(settings.authToken!, signature, c, {}))
    ? { ok: true }
    : { ok: false, reason: 'bad_signature' };
}

function firstHeaderRaw(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
