/**
 * One-time stream tokens (SPEC §5). `/twilio/voice` issues one per call and puts it in a
 * `<Parameter>`; the media stream's `start` message must present it. The token is an HMAC
 * over the CallSid and the other stream parameters, so a stranger cannot open a stream (and
 * spend the model budget) without a webhook Twilio signed, and a token works once, for its
 * call only, within {@link STREAM_TOKEN_TTL_MS}.
 *
 * Pure apart from `node:crypto`: time comes from the injected clock.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import type { Clock } from '../util/clock.js';

/**
 * Twilio opens the stream a few hundred ms after our TwiML; a minute leaves room for slow
 * set-ups (SPEC §5: "expires within a minute").
 */
export const STREAM_TOKEN_TTL_MS = 60_000;

/** The parameters a token vouches for, as they travel in `start.customParameters`. */
export interface StreamClaims {
  callSid: string;
  /** Profile key: the E.164 number matched in the numbers file, or `defaults`. */
  profile: string;
  from: string;
  to: string;
}

export type TokenCheck = { ok: true } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' | 'replayed' };

export class StreamTokens {
  private readonly key: Buffer;
  /** Tokens already used, with their expiry, so a replay inside the validity window fails. */
  private readonly used = new Map<string, number>();

  /**
   * @param clock time source
   * @param secret HMAC key material; a random per-process key when omitted (tokens then
   *   only verify in the process that issued them)
   */
  constructor(
    private readonly clock: Clock,
    secret?: string | Buffer,
  ) {
    this.key = createHmac('sha256', 'stream-token-v1')
      .update(secret ?? randomBytes(32))
      .digest();
  }

  /** Issues a token for these claims, valid for {@link STREAM_TOKEN_TTL_MS}. */
  issue(claims: StreamClaims): string {
    const expiresMs = Math.floor(this.clock.now()) + STREAM_TOKEN_TTL_MS;
    const nonce = randomBytes(9).toString('base64url');
    const exp = expiresMs.toString(36);
    return `v1.${exp}.${nonce}.${this.sign(claims, exp, nonce)}`;
  }

  /** Verifies a token against the claims it must vouch for and consumes it. */
  verify(token: string, claims: StreamClaims): TokenCheck {
    const parts = token.split('.');
    if (parts.length !== 4 || parts[0] !== 'v1') return { ok: false, reason: 'malformed' };
    const [, exp = '', nonce = '', sig = ''] = parts;
    const expected = Buffer.from(this.sign(claims, exp, nonce));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { ok: false, reason: 'bad_signature' };
    const expiresMs = parseInt(exp, 36);
    const now = this.clock.now();
    if (!Number.isFinite(expiresMs) || now > expiresMs) return { ok: false, reason: 'expired' };
    this.prune(now);
    if (this.used.has(token)) return { ok: false, reason: 'replayed' };
    this.used.set(token, expiresMs);
    return { ok: true };
  }

  private sign(claims: StreamClaims, exp: string, nonce: string): string {
    const payload = JSON.stringify([claims.callSid, claims.profile, claims.from, claims.to, exp, nonce]);
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  private prune(nowMs: number): void {
    for (const [token, expiresMs] of this.used) if (expiresMs < nowMs) this.used.delete(token);
  }
}
