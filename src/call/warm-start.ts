/**
 * Warm start (SPEC §11): a model session opened and configured when the signed webhook is
 * accepted, so it is ready when the stream starts; the stream's `start` claims it by CallSid.
 * This module keeps the waiting sessions: at most `maxWaiting` at once (PREWARM_MAX), each
 * closed if nobody claims it within `unclaimedMs` (10 s). What a session is (a realtime link
 * that sends `session.update` when it opens) is the caller's business: `open` is handed a maker.
 *
 * With several instances the stream may land on another one: that one has nothing to claim and
 * connects as usual, and this one closes its session on the timer.
 */
import type { Clock, TimerHandle } from '../util/clock.js';

/** How long a warm session waits for its stream (SPEC §11); Twilio starts it within ~1 s. */
export const WARM_UNCLAIMED_MS = 10_000;

export interface WarmStartOptions {
  clock: Clock;
  /** PREWARM_MAX: sessions waiting at once; 0 turns warm start off */
  maxWaiting: number;
  unclaimedMs?: number;
  /** a session was closed unclaimed (for logs and metrics) */
  onUnclaimed?(callSid: string): void;
}

export class WarmStarts<S extends { close(): void }> {
  private readonly waiting = new Map<string, { session: S; timer: TimerHandle }>();

  constructor(private readonly options: WarmStartOptions) {}

  /** Sessions opened and not yet claimed or closed. */
  get size(): number {
    return this.waiting.size;
  }

  /**
   * Opens a warm session for `callSid` with `make`. False when none is opened: warm start is off, PREWARM_MAX
   * sessions already wait, or this CallSid has one.
   */
  open(callSid: string, make: () => S): boolean {
    const { maxWaiting, clock } = this.options;
    if (this.waiting.size >= maxWaiting || this.waiting.has(callSid)) return false;
    const session = make();
    const timer = clock.setTimer(this.options.unclaimedMs ?? WARM_UNCLAIMED_MS, () => {
      if (this.waiting.get(callSid)?.session !== session) return;
      this.waiting.delete(callSid);
      session.close();
      this.options.onUnclaimed?.(callSid);
    });
    this.waiting.set(callSid, { session, timer });
    return true;
  }

  /** The warm session of `callSid`, handed over once (null when there is none). */
  claim(callSid: string): S | null {
    const entry = this.waiting.get(callSid);
    if (entry === undefined) return null;
    this.waiting.delete(callSid);
    this.options.clock.clearTimer(entry.timer);
    return entry.session;
  }

  /** Closes every waiting session (shutdown). */
  closeAll(): void {
    for (const [callSid, entry] of this.waiting) {
      this.options.clock.clearTimer(entry.timer);
      entry.session.close();
      this.waiting.delete(callSid);
    }
  }
}
