/**
 * MAX_CONCURRENT_CALLS (SPEC §8): how many calls this instance takes at once. A call counts
 * from the moment its webhook is answered with a stream token, not from when its stream
 * starts: a burst of webhooks arrives well before any of their streams, and counting only
 * live streams would let the burst overshoot the cap.
 */
import { STREAM_TOKEN_TTL_MS } from '../security/stream-token.js';
import type { Clock } from '../util/clock.js';

export type Reservation = 'ok' | 'full' | 'pending';

export class CallAdmission {
  /** CallSid → when its reservation lapses (its stream token has expired by then) */
  private readonly pending = new Map<string, number>();

  /**
   * @param maxCalls live plus reserved calls allowed
   * @param liveCalls how many calls have a running stream now
   * @param reservationMs how long a webhook's place is held for its stream (the token's lifetime)
   */
  constructor(
    private readonly clock: Clock,
    readonly maxCalls: number,
    private readonly liveCalls: () => number,
    private readonly reservationMs = STREAM_TOKEN_TTL_MS,
  ) {}

  /**
   * Holds a place for `callSid` until its stream starts or its token expires: `full` when
   * every place is taken, `pending` when this CallSid already holds one.
   */
  reserve(callSid: string): Reservation {
    const now = this.clock.now();
    this.expire(now);
    if (this.pending.has(callSid)) return 'pending';
    if (this.liveCalls() + this.pending.size >= this.maxCalls) return 'full';
    this.pending.set(callSid, now + this.reservationMs);
    return 'ok';
  }

  /** Gives a place back (the webhook was refused after all). */
  release(callSid: string): void {
    this.pending.delete(callSid);
  }

  /**
   * May this stream start now? Yes with a reservation; without one (its webhook went to
   * another instance) only when a place is free.
   */
  canStart(callSid: string): boolean {
    const now = this.clock.now();
    this.expire(now);
    return this.pending.has(callSid) || this.liveCalls() + this.pending.size < this.maxCalls;
  }

  /** The stream started: its place now counts as a live call. Call after adding it to the live calls. */
  started(callSid: string): void {
    this.pending.delete(callSid);
  }

  /** Webhooks answered whose stream has not started yet. */
  get reserved(): number {
    this.expire(this.clock.now());
    return this.pending.size;
  }

  private expire(nowMs: number): void {
    // One lifetime for all, so reservations lapse in insertion order.
    for (const [callSid, expiresMs] of this.pending) {
      if (expiresMs >= nowMs) break;
      this.pending.delete(callSid);
    }
  }
}
