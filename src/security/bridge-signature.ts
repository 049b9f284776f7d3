/**
 * `x-bridge-signature` (SPEC §9): how a tool backend, a context service or an event receiver
 * knows a request came from this bridge. `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`
 * keyed with BRIDGE_SIGNING_SECRET — the scheme Stripe's webhooks use, so receivers can reuse
 * what they know: the timestamp inside the MAC makes an old request useless after
 * {@link SIGNATURE_TOLERANCE_S}, and the body is signed byte for byte as sent.
 *
 * Pure apart from `node:crypto`: the time is passed in.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header name (lower case, as Node and fetch see it). */
export const SIGNATURE_HEADER = 'x-bridge-signature';

/** A receiver accepts a signature whose timestamp is within this many seconds of its own clock. */
export const SIGNATURE_TOLERANCE_S = 300;

export type SignatureCheck = { ok: true } | { ok: false; reason: 'malformed' | 'expired' | 'bad_signature' };

function mac(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex');
}

/** The header value for `body` sent at `nowMs`. */
export function signBody(secret: string, body: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${mac(secret, t, body)}`;
}

/**
 * Checks a header value against the raw body: `|now − t| ≤ 300 s` and the HMAC, compared in
 * constant time. Several `v1=` entries are allowed (a receiver rotating secrets signs with both).
 */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string,
  nowMs: number,
  toleranceS = SIGNATURE_TOLERANCE_S,
): SignatureCheck {
  if (header === undefined) return { ok: false, reason: 'malformed' };
  let t: number | null = null;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) candidates.push(value);
  }
  if (t === null || candidates.length === 0) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowMs / 1000 - t) > toleranceS) return { ok: false, reason: 'expired' };
  const expected = Buffer.from(mac(secret, t, body), 'hex');
  const match = candidates.some((c) => timingSafeEqual(Buffer.from(c, 'hex'), expected));
  return match ? { ok: true } : { ok: false, reason: 'bad_signature' };
}
