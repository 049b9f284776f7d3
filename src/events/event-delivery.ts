/**
 * The event delivery worker (SPEC §10): sends the outbox's events to their webhooks,
 * at-least-once, with the same `id` on every attempt, in order per call.
 *
 * - Only the oldest pending event of a call is ever sent, and one call has at most one
 *   request in flight, so a call's events arrive in the order they were stored; a `failed`
 *   event no longer holds back the ones after it.
 * - Non-2xx (redirects included: they are not followed), a connection error or no answer in
 *   10 s → retried 1 s after the first failure, doubling, at most 10 min apart, until 24 h after
 *   the event was stored (or redelivered); then `failed`.
 * - Every attempt is a store write; at start-up every pending event falls due at once.
 *
 * It is never on the audio path: it runs on timers and fetch promises, a bounded number of
 * requests at a time, and reads a handful of rows per round (bench/README.md, "events").
 */
import { describeError } from '../util/errors.js';
import { signBody, SIGNATURE_HEADER } from '../security/bridge-signature.js';
import type { EventOutbox } from '../store/call-store.js';
import type { CallRecord } from '../store/calls-repo.js';
import type { AttemptResult, DueEvent, EventType } from '../store/events-repo.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

export interface DeliveryLimits {
  /** requests in flight at once (each to a different call) */
  concurrency: number;
  /** a request with no answer after this long counts as failed */
  timeoutMs: number;
  /** pause before the first retry; doubles per failure */
  firstRetryMs: number;
  /** longest pause between attempts */
  maxRetryMs: number;
  /** pause before reading the outbox again when the store cannot answer */
  storeRetryMs: number;
}

export const DEFAULT_DELIVERY_LIMITS: DeliveryLimits = {
  concurrency: 8,
  timeoutMs: 10_000,
  firstRetryMs: 1_000,
  maxRetryMs: 10 * 60_000,
  storeRetryMs: 1_000,
};

/** What delivery reports, for metrics. */
export interface DeliveryMonitor {
  /** one attempt ended: `delivered`, `retrying` (failed, will be tried again) or `failed` (given up) */
  onAttempt(type: EventType, status: 'delivered' | 'retrying' | 'failed'): void;
  /** an event was delivered `seconds` after it was stored */
  onDelivered(seconds: number): void;
  onPending(count: number): void;
}

export interface DeliveryDeps {
  store: EventOutbox & { getCall(callSid: string): Promise<CallRecord | null> };
  clock: Clock;
  logger: Logger;
  /** BRIDGE_SIGNING_SECRET; null: unsigned */
  signingSecret: string | null;
  monitor: DeliveryMonitor;
  /** masks configured secrets in what leaves (the redactor) */
  redact: <T>(value: T) => T;
  limits?: Partial<DeliveryLimits>;
}

/**
 * The pause after the `failures`-th failed attempt (1 → `firstRetryMs`, doubling, capped).
 * Exported for the back-off test.
 */
export function retryDelayMs(failures: number, limits: DeliveryLimits = DEFAULT_DELIVERY_LIMITS): number {
  return Math.min(limits.firstRetryMs * 2 ** Math.max(0, failures - 1), limits.maxRetryMs);
}

/** The `call.ended` data: the call record as stored (SPEC §3 shape with tools and outcome), without the analysis. */
function endedData(record: CallRecord): Record<string, unknown> {
  const { analysis: _analysis, ...rest } = record;
  return rest;
}

export class EventDelivery {
  private readonly limits: DeliveryLimits;
  /** calls with a request in flight */
  private readonly inFlight = new Set<string>();
  private readonly stop = new AbortController();
  private timer: TimerHandle | null = null;
  private timerDueMs = Infinity;
  private scanning = false;
  private rescan = false;
  private closed = false;
  private readonly idle: (() => void)[] = [];

  constructor(private readonly deps: DeliveryDeps) {
    this.limits = { ...DEFAULT_DELIVERY_LIMITS, ...deps.limits };
  }

  /**
   * Pending events from before a restart fall due now; delivery begins. An outbox with nothing
   * pending (every fresh start) costs no write.
   */
  start(): void {
    void this.resume();
  }

  private async resume(): Promise<void> {
    try {
      if ((await this.deps.store.pendingEvents()) > 0) this.deps.store.resumeEvents(this.deps.clock.now());
    } catch (err) {
      this.deps.logger.warn(
        { err: describeError(err) },
        'event outbox unreadable at start; pending events keep their times',
      );
    }
    this.kick();
  }

  /** An event was stored (or redelivered): look at the outbox soon. */
  kick(): void {
    this.schedule(0);
  }

  /** Requests in flight now (tests, bench). */
  get sending(): number {
    return this.inFlight.size;
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    const due = this.deps.clock.now() + delayMs;
    if (this.timer !== null) {
      if (this.timerDueMs <= due) return;
      this.deps.clock.clearTimer(this.timer);
    }
    this.timerDueMs = due;
    this.timer = this.deps.clock.setTimer(delayMs, () => {
      this.timer = null;
      this.timerDueMs = Infinity;
      void this.scan();
    });
  }

  private async scan(): Promise<void> {
    if (this.closed) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    this.scanning = true;
    try {
      do {
        this.rescan = false;
        await this.round();
      } while (this.rescan && !this.closed);
    } catch (err) {
      this.deps.logger.warn({ err: describeError(err) }, 'event outbox unreadable; trying again shortly');
      this.schedule(this.limits.storeRetryMs);
    } finally {
      this.scanning = false;
      this.settle();
    }
  }

  /** Sends what is due and has room, and sets the timer for the next event that falls due. */
  private async round(): Promise<void> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const room = this.limits.concurrency - this.inFlight.size;
    if (room > 0) {
      const due = await store.dueEvents(now, room + this.inFlight.size);
      for (const event of due) {
        if (this.closed || this.inFlight.size >= this.limits.concurrency) break;
        if (!this.inFlight.has(event.callSid)) this.send(event);
      }
    }
    this.deps.monitor.onPending(await store.pendingEvents());
    const next = await store.nextEventDueMs();
    // Due by `now` but not sent: in flight, or no room; a request that ends looks again. Due
    // later (perhaps already, as the reads took time): a timer.
    if (next !== null && next > now) this.schedule(Math.max(0, next - clock.now()));
  }

  private send(event: DueEvent): void {
    this.inFlight.add(event.callSid);
    void this.attempt(event)
      .then(
        (result) => {
          // aborted by close(): not an attempt, the event stays as it was
          if (!this.closed) this.record(event, result);
        },
        (err: unknown) => {
          // the record could not be read: not an attempt; look again later
          this.deps.logger.warn(
            { err: describeError(err), eventId: event.id },
            'event not sent: its call record is unreadable',
          );
          this.schedule(this.limits.storeRetryMs);
        },
      )
      .finally(() => {
        this.inFlight.delete(event.callSid);
        this.kick();
        this.settle();
      });
  }

  private record(event: DueEvent, result: AttemptResult): void {
    const { store, monitor, logger, clock } = this.deps;
    store.recordAttempt(event.id, result);
    const log = { eventId: event.id, type: event.type, callSid: event.callSid, attempts: event.attempts + 1 };
    switch (result.status) {
      case 'delivered':
        monitor.onAttempt(event.type, 'delivered');
        monitor.onDelivered(Math.max(0, clock.now() - event.createdAtMs) / 1000);
        break;
      case 'pending':
        monitor.onAttempt(event.type, 'retrying');
        logger.warn({ ...log, error: result.error, retryInMs: result.nextMs - clock.now() }, 'event delivery failed');
        break;
      case 'failed':
        monitor.onAttempt(event.type, 'failed');
        logger.error({ ...log, error: result.error }, 'event delivery given up');
        break;
    }
  }

  /** One attempt: the result to store. @throws when a `call.ended` record cannot be read */
  private async attempt(event: DueEvent): Promise<AttemptResult> {
    const { clock, store } = this.deps;
    let data = event.data;
    if (data === null) {
      const record = await store.getCall(event.callSid);
      data = record === null ? { callSid: event.callSid } : endedData(record);
      store.setEventData(event.id, data);
    }
    const body = JSON.stringify(
      this.deps.redact({
        id: event.id,
        type: event.type,
        createdAt: new Date(event.createdAtMs).toISOString(),
        callSid: event.callSid,
        data,
      }),
    );
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': event.id };
    if (this.deps.signingSecret !== null)
      headers[SIGNATURE_HEADER] = signBody(this.deps.signingSecret, body, clock.now());
    let error: string;
    try {
      const res = await fetch(event.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.limits.timeoutMs), this.stop.signal]),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { status: 'delivered', atMs: clock.now() };
      error = `HTTP ${res.status}`;
    } catch (err) {
      error = this.stop.signal.aborted
        ? 'bridge shutting down'
        : (err as Error).name === 'TimeoutError'
          ? `no answer within ${this.limits.timeoutMs / 1000} s`
          : `connection failed (${connectionCode(err)})`;
    }
    const failures = event.attempts + 1;
    const nextMs = clock.now() + retryDelayMs(failures, this.limits);
    return nextMs > event.horizonMs ? { status: 'failed', error } : { status: 'pending', nextMs, error };
  }

  private settle(): void {
    if (this.inFlight.size === 0 && !this.scanning) for (const resolve of this.idle.splice(0)) resolve();
  }

  /** Resolves when no request is in flight and no round is running (tests). */
  whenIdle(): Promise<void> {
    if (this.inFlight.size === 0 && !this.scanning) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stops: no new attempt; requests in flight are aborted (their events stay pending). */
  close(): void {
    this.closed = true;
    if (this.timer !== null) this.deps.clock.clearTimer(this.timer);
    this.timer = null;
    this.stop.abort();
  }
}

/** `ECONNREFUSED`, … from a fetch failure, without the URL (it may carry a token). */
function connectionCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' ? cause.code : 'network error';
}
