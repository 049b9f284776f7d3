/**
 * The write half of a call store, the same for both engines: each write is one named
 * {@link WriteCommand} from the shared `writes` tables (calls, events, outbound requests),
 * kept in order in one bounded queue (beyond `maxQueuedBytes` new writes are dropped, logged
 * once and counted) and handed on to the engine (SQLite: a writer thread; PostgreSQL: batched
 * transactions) until the engine says it landed. Never blocks the caller and never throws.
 */
import type { CallOutcome } from '../call/events.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { StoreMonitor } from './call-store.js';
import {
  writes,
  type CallAnalysis,
  type CallStart,
  type ContextRecord,
  type StatusWrite,
  type ToolCallWrite,
  type TurnWrite,
  type WriteCommand,
} from './calls-repo.js';
import { eventWrites, type AttemptResult, type NewEvent } from './events-repo.js';
import { outboundWrites } from './outbound-repo.js';

/** A write in the queue, numbered in the order it was made. */
export interface QueuedWrite {
  seq: number;
  bytes: number;
  command: WriteCommand;
}

export interface QueueDeps {
  logger: Logger;
  clock: Clock;
  monitor: StoreMonitor;
}

/** What a write costs in memory while it waits: its strings (UTF-16) plus a fixed overhead. */
function approxBytes(command: WriteCommand): number {
  let bytes = 96;
  for (const p of command.params) bytes += typeof p === 'string' ? p.length * 2 : 8;
  for (const w of command.with ?? []) bytes += approxBytes(w);
  return bytes;
}

export abstract class QueuedWrites {
  /** writes not yet landed, oldest first */
  protected readonly pending: QueuedWrite[] = [];
  private pendingBytes = 0;
  private nextSeq = 1;
  /** every write up to this one has landed */
  protected doneThrough = 0;
  private dropping = false;
  /** closed: new writes are dropped */
  protected closed = false;
  private readonly waiters: { seq: number; resolve: (done: boolean) => void }[] = [];

  constructor(private readonly queue: QueueDeps) {}

  /** bytes of writes kept while they wait */
  protected abstract get maxQueuedBytes(): number;

  /** A write joined the queue: the engine takes it on (in `seq` order). */
  protected abstract accepted(write: QueuedWrite): void;

  /** Writes waiting to be written (for tests and the bench). */
  get queuedWrites(): number {
    return this.pending.length;
  }

  /** Keeps `command` to be written after every write queued before it, or drops it (queue full, closed). */
  protected enqueue(command: WriteCommand): void {
    const bytes = approxBytes(command);
    if (this.closed || this.pendingBytes + bytes > this.maxQueuedBytes) {
      this.queue.monitor.onDropped(command.name);
      if (!this.dropping) {
        this.dropping = true;
        this.queue.logger.error(
          { op: command.name, queued: this.pending.length, queuedBytes: this.pendingBytes },
          this.closed
            ? 'call store closed: writes are dropped'
            : 'call store queue full: new writes are dropped until it drains',
        );
      }
      return;
    }
    const write = { seq: this.nextSeq++, bytes, command };
    this.pending.push(write);
    this.pendingBytes += bytes;
    this.queue.monitor.onQueued(this.pending.length);
    this.accepted(write);
  }

  /** The engine wrote every write up to `through`: they leave the queue, and `flush` waiters wake. */
  protected landed(through: number): void {
    let n = 0;
    while (n < this.pending.length && this.pending[n]!.seq <= through) {
      this.pendingBytes -= this.pending[n]!.bytes;
      n++;
    }
    this.pending.splice(0, n);
    this.doneThrough = Math.max(this.doneThrough, through);
    if (this.pending.length === 0) this.dropping = false;
    this.queue.monitor.onQueued(this.pending.length);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.seq <= this.doneThrough) this.waiters.splice(i, 1)[0]!.resolve(true);
    }
  }

  /** Resolves true once every write made so far has landed, false after `timeoutMs`. */
  flush(timeoutMs: number): Promise<boolean> {
    const seq = this.nextSeq - 1;
    if (this.doneThrough >= seq) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        seq,
        resolve: (done: boolean) => {
          this.queue.clock.clearTimer(timer);
          resolve(done);
        },
      };
      const timer = this.queue.clock.setTimer(timeoutMs, () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      });
      this.waiters.push(waiter);
    });
  }

  startCall(call: CallStart, event?: NewEvent): void {
    this.enqueue(writes.startCall(call, event));
  }

  addTurn(callSid: string, turn: TurnWrite): void {
    this.enqueue(writes.addTurn(callSid, turn));
  }

  addBargeIn(callSid: string): void {
    this.enqueue(writes.addBargeIn(callSid));
  }

  addLatency(callSid: string, latencyMs: number, afterCallerTurn: boolean): void {
    this.enqueue(writes.addLatency(callSid, latencyMs, afterCallerTurn));
  }

  finishCall(callSid: string, outcome: CallOutcome, detail: string | null, endedAtMs: number, event?: NewEvent): void {
    this.enqueue(writes.finishCall(callSid, outcome, detail, endedAtMs, event));
  }

  storeAnalysis(callSid: string, analysis: CallAnalysis, event: NewEvent | null): void {
    this.enqueue(writes.storeAnalysis(callSid, analysis, event));
  }

  addStatusEvent(callSid: string, event: StatusWrite): void {
    this.enqueue(writes.addStatusEvent(callSid, event));
  }

  addToolCall(callSid: string, call: ToolCallWrite): void {
    this.enqueue(writes.addToolCall(callSid, call));
  }

  setContext(callSid: string, context: ContextRecord): void {
    this.enqueue(writes.setContext(callSid, context));
  }

  rememberOutbound(key: string, callSid: string, atMs: number): void {
    this.enqueue(outboundWrites.rememberRequest(key, callSid, atMs));
  }

  setEventData(id: string, data: Record<string, unknown>): void {
    this.enqueue(eventWrites.data(id, data));
  }

  recordAttempt(id: string, result: AttemptResult): void {
    this.enqueue(eventWrites.attempt(id, result));
  }

  redeliverEvent(id: string, nowMs: number): void {
    this.enqueue(eventWrites.redeliver(id, nowMs));
  }

  resumeEvents(nowMs: number): void {
    this.enqueue(eventWrites.resume(nowMs));
  }
}
