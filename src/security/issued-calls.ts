/**
 * One stream token per CallSid (SPEC §8). Twilio's webhook signatures never expire, so a
 * signed `/twilio/voice` request replayed later would otherwise get a fresh token — and with
 * it a second stream, a second model session and a second writer of the call's recording.
 * The webhook route asks this ledger before it issues a token: a CallSid that already holds
 * one, used or unused, gets none.
 */
import type { Clock } from '../util/clock.js';

/**
 * Where the CallSids that were given a token are remembered. Async so that a shared store
 * (one ledger for several instances, SPEC §14) can implement it; the in-process one answers
 * at once.
 */
export interface IssuedCallLedger {
  /**
   * Records that `callSid` is being given a token. Resolves false when it already was: the
   * webhook is a replay and must get no token.
   */
  claim(callSid: string): Promise<boolean>;
}

/**
 * How long a CallSid is remembered: longer than any call may last (MAX_CALL_DURATION_S is at
 * most a day) plus the token's minute, so a replay of a live or recent call's webhook is
 * always caught.
 */
export const ISSUED_CALL_TTL_MS = 25 * 3_600_000;
/**
 * Most CallSids remembered; beyond it the oldest are forgotten first. ~150 bytes each, so at
 * most ~15 MB. Only webhooks that passed the signature check (or came from loopback in local
 * mode) get this far, so filling it takes 100 000 real calls within the TTL.
 */
export const ISSUED_CALL_MAX_ENTRIES = 100_000;

/** The in-process ledger: bounded in size and expiring, time from the injected clock. */
export class MemoryIssuedCallLedger implements IssuedCallLedger {
  /** CallSid → expiry (ms); a Map keeps insertion order, so the first entry is the oldest. */
  private readonly issued = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = ISSUED_CALL_TTL_MS,
    private readonly maxEntries = ISSUED_CALL_MAX_ENTRIES,
  ) {}

  claim(callSid: string): Promise<boolean> {
    return Promise.resolve(this.claimNow(callSid));
  }

  /** The synchronous core of {@link claim}. */
  claimNow(callSid: string): boolean {
    const now = this.clock.now();
    this.expire(now);
    const expiresMs = this.issued.get(callSid);
    if (expiresMs !== undefined && expiresMs >= now) return false;
    this.issued.set(callSid, now + this.ttlMs);
    while (this.issued.size > this.maxEntries) {
      const oldest = this.issued.keys().next().value;
      if (oldest === undefined) break;
      this.issued.delete(oldest);
    }
    return true;
  }

  get size(): number {
    return this.issued.size;
  }

  /** Drops expired entries from the front (entries expire in insertion order: one TTL for all). */
  private expire(nowMs: number): void {
    for (const [callSid, expiresMs] of this.issued) {
      if (expiresMs >= nowMs) break;
      this.issued.delete(callSid);
    }
  }
}
