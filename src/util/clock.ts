/**
 * Time, injected (STYLE §2.1.4). Nothing outside this file reads `Date.now()` or calls
 * `setTimeout`: production passes {@link SystemClock}; tests and `npm run replay` pass a
 * {@link VirtualClock}, so a recorded call replays deterministically and fast.
 */

/** An opaque handle to a scheduled callback. */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the Unix epoch (may be fractional on a virtual clock). */
  now(): number;
  /** Runs `fn` once after `delayMs` (clamped to 0…{@link MAX_TIMER_DELAY_MS}; NaN counts as 0). */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
  /** Cancels a timer; unknown or already-fired handles are ignored. */
  clearTimer(handle: TimerHandle): void;
}

/**
 * Longest delay a Node timer can hold (2^31 − 1 ms ≈ 24.8 days). Node fires a longer one after
 * 1 ms (with a TimeoutOverflowWarning), so a "far future" delay — say a session expiry a
 * provider puts 40 days ahead — would fire at once; it is clamped here instead.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** A delay as a Node timer can take it: 0…{@link MAX_TIMER_DELAY_MS}, NaN → 0. */
function timerDelay(delayMs: number): number {
  return delayMs > 0 ? Math.min(delayMs, MAX_TIMER_DELAY_MS) : 0;
}

/** The real clock: `Date.now()` and Node timers. Timers are unref'd so they never hold the process open. */
export class SystemClock implements Clock {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private nextId = 1;

  now(): number {
    return Date.now();
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const id = this.nextId++;
    const timer = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, timerDelay(delayMs));
    timer.unref();
    this.timers.set(id, timer);
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const timer = this.timers.get(handle.id);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.timers.delete(handle.id);
    }
  }
}

interface VirtualTimer {
  readonly id: number;
  readonly dueMs: number;
  readonly fn: () => void;
}

/**
 * A clock that only moves when told to. Timers fire in due order (ties in creation order)
 * while {@link VirtualClock.advanceTo} walks time forward; a timer set during that walk
 * fires in the same walk if it falls due before the target.
 */
export class VirtualClock implements Clock {
  private nowMs: number;
  private nextId = 1;
  private timers: VirtualTimer[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timer: VirtualTimer = { id: this.nextId++, dueMs: this.nowMs + Math.max(0, delayMs), fn };
    this.timers.push(timer);
    return { id: timer.id };
  }

  clearTimer(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle.id);
  }

  /** Number of timers not yet fired. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Due time of the earliest pending timer, or `undefined`. */
  nextDueMs(): number | undefined {
    let due: number | undefined;
    for (const t of this.timers) if (due === undefined || t.dueMs < due) due = t.dueMs;
    return due;
  }

  /** Moves time forward by `deltaMs`, firing every timer that falls due. */
  advance(deltaMs: number): void {
    this.advanceTo(this.nowMs + deltaMs);
  }

  /** Moves time to `targetMs` (never backwards), firing due timers in order. */
  advanceTo(targetMs: number): void {
    for (;;) {
      let next: VirtualTimer | undefined;
      for (const t of this.timers) {
        if (
          t.dueMs <= targetMs &&
          (next === undefined || t.dueMs < next.dueMs || (t.dueMs === next.dueMs && t.id < next.id))
        ) {
          next = t;
        }
      }
      if (next === undefined) break;
      const fired = next;
      this.timers = this.timers.filter((t) => t !== fired);
      this.nowMs = Math.max(this.nowMs, fired.dueMs);
      fired.fn();
    }
    this.nowMs = Math.max(this.nowMs, targetMs);
  }
}

/**
 * A monotonic high-resolution time in ms, for measuring durations (latency metrics,
 * benchmarks). Not for call logic, which reads its injected {@link Clock}.
 */
export function monotonicMs(): number {
  return performance.now();
}
