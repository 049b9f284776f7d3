/**
 * The SQLite call store (SPEC §8: a storage fault never takes calls down).
 *
 * Writes leave the event loop: each becomes a {@link WriteCommand} posted to a writer thread
 * (`write-worker.mjs`) that runs them in order on its own connection. Posting costs
 * microseconds whatever the database is doing; on the loop a single insert waited up to the
 * 2 s busy timeout behind a lock, and a WAL checkpoint's fsync can take milliseconds with no
 * lock at all (figures in bench/README.md, "store"). A write that fails for a reason that can
 * clear (SQLITE_BUSY behind another process's lock, a full disk, an I/O error) stays at the
 * head of the writer's queue and is retried, so the writes after it land afterwards, in order;
 * one that can never succeed (a constraint) is dropped alone. Each is logged and counted.
 *
 * Memory is bounded: writes not yet done are kept here (to be sent again if the writer thread
 * dies) up to `maxQueuedBytes`; beyond it new writes are dropped and counted.
 *
 * Reads run on the loop with busy_timeout 0, after the writes made before them are done: while
 * writes are failing, or a lock blocks the read itself, a read throws StoreUnavailableError at
 * once (the admin API's 503) instead of waiting.
 */
import { Worker } from 'node:worker_threads';

import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { StoreUnavailableError, type CallStore, type StoreMonitor } from './call-store.js';
import { sqliteCode, WRITE_SQL, writes, type CallRecord, type CallsRepo, type ListQuery } from './calls-repo.js';
import type { DueEvent, EventQuery, EventSummary } from './events-repo.js';
import { QueuedWrites, type QueuedWrite } from './queued-writes.js';

export interface SqliteStoreLimits {
  /** bytes of writes kept while they wait; beyond it writes are dropped (default 16 MiB) */
  maxQueuedBytes: number;
  /** how long the writer thread's statement waits for a lock before it reports a fault */
  writerBusyTimeoutMs: number;
  /** pause before a failed write is tried again */
  retryMs: number;
  /** how long a read waits for the writes made before it */
  readWaitMs: number;
  /** how long `close()` waits for queued writes by default */
  closeWaitMs: number;
}

/**
 * 16 MiB holds ~2,000 maximal (8,000-character) turns, or ~100,000 typical writes: minutes of
 * 200 busy calls behind a lock, at a memory cost the bridge can always afford.
 */
export const DEFAULT_STORE_LIMITS: SqliteStoreLimits = {
  maxQueuedBytes: 16 * 1024 * 1024,
  // long enough that a short lock clears inside SQLite's own wait, short enough that `close()`
  // is not held up behind one
  writerBusyTimeoutMs: 250,
  retryMs: 50,
  readWaitMs: 2_000,
  closeWaitMs: 5_000,
};

/** A writer thread that dies is restarted this many times (it only dies of a bug or a native fault). */
const MAX_WRITER_RESTARTS = 3;

type FromWriter =
  | { type: 'landed'; through: number }
  | { type: 'fault'; seq: number; name: string; code: string; message: string; transient: boolean };

export interface SqliteStoreDeps {
  logger: Logger;
  clock: Clock;
  monitor: StoreMonitor;
  limits?: Partial<SqliteStoreLimits>;
}

export class SqliteCallStore extends QueuedWrites implements CallStore {
  private readonly limits: SqliteStoreLimits;
  private worker: Worker;
  /** the write that failed last (each failing write counts once) */
  private lastFaultSeq = 0;
  private fault: { sinceMs: number; code: string } | null = null;
  private writerRestarts = 0;

  /** Starts the writer thread on the file `reader` opened (and migrated). */
  constructor(
    /** the opened database, read on the loop (open it with busyTimeoutMs 0) */
    private readonly reader: CallsRepo,
    private readonly deps: SqliteStoreDeps,
  ) {
    super(deps);
    this.limits = { ...DEFAULT_STORE_LIMITS, ...deps.limits };
    this.worker = this.startWriter();
  }

  private startWriter(): Worker {
    const worker = new Worker(new URL('./write-worker.mjs', import.meta.url), {
      workerData: {
        file: this.reader.file,
        statements: WRITE_SQL,
        busyTimeoutMs: this.limits.writerBusyTimeoutMs,
        retryMs: this.limits.retryMs,
      },
      // the writer is plain JavaScript: no loader, no flags of the main thread
      execArgv: [],
    });
    // the bridge's own handles keep the process alive; the writer must not keep a stopped one
    worker.unref();
    worker.on('message', (message: FromWriter) => this.onWriter(message));
    worker.on('error', (err) => this.deps.logger.error({ err }, 'call store writer thread failed'));
    worker.on('exit', (code) => {
      if (this.closed || worker !== this.worker) return;
      // A bug or a native fault, never a store fault: start again and send what was not done,
      // a few times (a writer that cannot start at all must not spin).
      if (this.writerRestarts >= MAX_WRITER_RESTARTS) {
        this.deps.logger.error({ code, queued: this.pending.length }, 'call store writer thread exited; writes stop');
        this.closed = true;
        return;
      }
      this.writerRestarts++;
      this.deps.logger.error({ code, queued: this.pending.length }, 'call store writer thread exited; restarting it');
      this.worker = this.startWriter();
      for (const p of this.pending) this.post(p);
    });
    return worker;
  }

  /**
   * Marks rows a crash left open as `incomplete`; call once at start-up, before any other write.
   * Returns how many, or null when the database is locked: the update is then queued as the
   * first write, so it still lands before any new call's row.
   */
  markAbandoned(): number | null {
    try {
      return this.reader.markAbandoned();
    } catch (err) {
      const code = sqliteCode(err);
      if (code === null || !/^SQLITE_(BUSY|LOCKED)/.test(code)) throw err;
      this.deps.logger.warn({ code }, 'call store locked at start-up: calls left open will be marked incomplete later');
      this.enqueue(writes.markAbandoned());
      return null;
    }
  }

  // The event outbox (SPEC §10): reads after the writes made before them, like the call reads.

  async dueEvents(nowMs: number, limit: number): Promise<DueEvent[]> {
    await this.readable();
    return this.read(() => this.reader.events.due(nowMs, limit));
  }

  async nextEventDueMs(): Promise<number | null> {
    await this.readable();
    return this.read(() => this.reader.events.nextDueMs());
  }

  async pendingEvents(): Promise<number> {
    await this.readable();
    return this.read(() => this.reader.events.pendingCount());
  }

  async listEvents(query: EventQuery): Promise<{ events: EventSummary[]; next: string | null }> {
    await this.readable();
    return this.read(() => this.reader.events.list(query));
  }

  async getEvent(id: string): Promise<EventSummary | null> {
    await this.readable();
    return this.read(() => this.reader.events.get(id));
  }

  protected override get maxQueuedBytes(): number {
    return this.limits.maxQueuedBytes;
  }

  protected override accepted(write: QueuedWrite): void {
    this.post(write);
  }

  private post(entry: QueuedWrite): void {
    const { name, params } = entry.command;
    const also = entry.command.with;
    this.worker.postMessage({ type: 'write', seq: entry.seq, name, params, ...(also ? { with: also } : {}) });
  }

  private onWriter(message: FromWriter): void {
    switch (message.type) {
      case 'landed':
        this.landed(message.through);
        break;
      case 'fault':
        this.onFault(message);
        break;
    }
  }

  protected override landed(through: number): void {
    super.landed(through);
    if (this.fault !== null && this.lastFaultSeq <= through) {
      this.deps.logger.info(
        { faultMs: Math.round(this.deps.clock.now() - this.fault.sinceMs), queued: this.pending.length },
        'call store writes resumed',
      );
      this.fault = null;
    }
  }

  private onFault(f: Extract<FromWriter, { type: 'fault' }>): void {
    const first = f.seq !== this.lastFaultSeq;
    this.lastFaultSeq = f.seq;
    if (first) this.deps.monitor.onError(f.name);
    if (!f.transient) {
      this.deps.monitor.onDropped(f.name);
      this.deps.logger.error({ op: f.name, code: f.code, err: f.message }, 'call store write failed and was dropped');
      return;
    }
    if (this.fault === null) {
      this.fault = { sinceMs: this.deps.clock.now(), code: f.code };
      this.deps.logger.error(
        { op: f.name, code: f.code, err: f.message, queued: this.pending.length },
        'call store write failed; it and the writes after it are kept and retried',
      );
    }
  }

  async outboundCallForKey(key: string): Promise<string | null> {
    await this.readable();
    return this.read(() => this.reader.outbound.callForKey(key));
  }

  async getCall(callSid: string): Promise<CallRecord | null> {
    await this.readable();
    return this.read(() => this.reader.getCall(callSid));
  }

  async listCalls(query: ListQuery): Promise<{ calls: CallRecord[]; next: string | null }> {
    await this.readable();
    return this.read(() => this.reader.listCalls(query));
  }

  private unavailable(why: string, cause?: unknown): StoreUnavailableError {
    return new StoreUnavailableError(
      `the call store is unavailable (${why}); ${this.pending.length} writes are queued and will be ` +
        'written when it frees; retry shortly',
      cause === undefined ? undefined : { cause },
    );
  }

  /** Resolves once the writes made so far are done; refuses at once while writes are failing. */
  private async readable(): Promise<void> {
    const failing = () =>
      this.fault === null ? null : this.unavailable(`${this.fault.code}: locked by another process or failing`);
    const refused = failing();
    if (refused !== null) throw refused;
    if (!(await this.flush(this.limits.readWaitMs))) throw failing() ?? this.unavailable('writes are slow');
  }

  private read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      const code = sqliteCode(err);
      if (code !== null && /^SQLITE_(BUSY|LOCKED)/.test(code)) throw this.unavailable(`${code}: locked`, err);
      throw err;
    }
  }

  /**
   * Waits up to `timeoutMs` for the queued writes, logs any it must give up, and stops the
   * writer thread and the read connection.
   */
  async close(timeoutMs = this.limits.closeWaitMs): Promise<void> {
    if (this.closed) return;
    const done = await this.flush(timeoutMs);
    this.closed = true;
    if (!done) this.deps.logger.error({ unwritten: this.pending.length }, 'call store: queued writes not written');
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    // referenced again, or the process could end before the database is closed
    this.worker.ref();
    this.worker.postMessage({ type: 'close' });
    await exited;
    this.reader.close();
  }
}
