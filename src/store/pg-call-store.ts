/**
 * The PostgreSQL call store (SPEC §14): the same {@link CallStore} as `sqlite-call-store.ts`,
 * shared by every instance.
 *
 * Writes never touch the audio path: each call of a writer method only appends the
 * {@link WriteCommand} the SQLite store would run (built by the same `writes` table) to a
 * queue. One drain loop sends them in order, batched: up to {@link MAX_BATCH} writes in one
 * transaction, so 200 calls cost a few commits per second instead of one per turn. A batch that
 * fails for a reason that can clear (connection lost, database restarting) is retried whole
 * after `retryMs`; one the database refuses for good is replayed write by write, so only the
 * bad write is dropped. Each is logged and counted, as in SQLite.
 *
 * Reads wait for the writes made before them in this process, like the SQLite store, and
 * throw {@link StoreUnavailableError} (the admin API's 503) while writes are failing or the
 * database cannot answer.
 *
 * The event outbox is shared: `dueEvents` claims the events it returns for this instance
 * (`claimed_by`, `claimed_until`) with `FOR UPDATE SKIP LOCKED`, so two instances never send
 * the same event at once; a claim lapses after {@link EVENT_CLAIM_MS}, so a dead instance's
 * events fall to a survivor.
 */
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { StoreUnavailableError, type CallStore, type StoreMonitor } from './call-store.js';
import type { CallRecord, ListQuery, WriteCommand, WriteName } from './calls-repo.js';
import type { DueEvent, EventQuery, EventSummary } from './events-repo.js';
import { QueuedWrites, type QueuedWrite } from './queued-writes.js';
import { isTransientPgError, pgCode, type PgDatabase } from './pg-database.js';
import { PgCallReader } from './pg-call-reader.js';

/**
 * The SQLite writes (`WRITE_SQL`) in PostgreSQL's dialect, same names, same parameters in the
 * same order; `insertCall` takes the owning instance as a seventh.
 */
const PG_WRITE_SQL: Record<WriteName, string> = {
  insertCall: `INSERT INTO calls (call_sid, from_number, to_number, profile, started_ms, direction, instance_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (call_sid) DO NOTHING`,
  insertTurn: `INSERT INTO turns (call_sid, role, text, truncated, at_ms) VALUES ($1, $2, $3, $4, $5)`,
  bargeIn: `UPDATE calls SET barge_ins = barge_ins + 1 WHERE call_sid = $1`,
  firstAudio: `UPDATE calls SET first_audio_ms = COALESCE(first_audio_ms, $1::integer) WHERE call_sid = $2`,
  responseLatency: `UPDATE calls SET response_ms = (response_ms::jsonb || to_jsonb($1::integer))::text
     WHERE call_sid = $2 AND jsonb_array_length(response_ms::jsonb) < 200`,
  finish: `UPDATE calls SET outcome = $1, detail = $2, ended_ms = $3 WHERE call_sid = $4 AND outcome = 'in_progress'`,
  insertStatus: `INSERT INTO status_events (call_sid, at_ms, kind, status, detail) VALUES ($1, $2, $3, $4, $5)`,
  insertTool: `INSERT INTO tool_calls (call_sid, name, arguments, ok, ms, at_ms, via)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  setContext: `UPDATE calls SET context = $1 WHERE call_sid = $2`,
  // with several instances a call is abandoned only when its instance is gone (pg-cluster.ts)
  markIncomplete: `UPDATE calls SET outcome = 'incomplete', detail = 'left open by a crash or a kill'
     WHERE outcome = 'in_progress' AND instance_id IS NULL`,
  insertEvent: `INSERT INTO events (id, call_sid, type, url, created_ms, data, next_ms, horizon_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
  eventData: `UPDATE events SET data = $1 WHERE id = $2 AND data IS NULL`,
  eventAttempt: `UPDATE events SET status = $1, attempts = attempts + 1, next_ms = $2, delivered_ms = $3,
     last_error = COALESCE($4::text, last_error), claimed_by = NULL, claimed_until = 0
     WHERE id = $5`,
  redeliverEvent: `UPDATE events SET status = 'pending', next_ms = $1, horizon_ms = $2, claimed_by = NULL,
     claimed_until = 0 WHERE id = $3`,
  resumeEvents: `UPDATE events SET next_ms = $1 WHERE status = 'pending' AND claimed_until < $1`,
  storeAnalysis: `UPDATE calls SET analysis = $1 WHERE call_sid = $2`,
  insertOutboundRequest: `INSERT INTO outbound_requests (idempotency_key, call_sid, created_ms)
     VALUES ($1, $2, $3) ON CONFLICT (idempotency_key) DO NOTHING`,
};

/**
 * How long an event handed to this instance's delivery worker stays out of the others' reach:
 * longer than one attempt may take (10 s request timeout), short enough that a survivor
 * delivers a dead instance's events well within a minute.
 */
export const EVENT_CLAIM_MS = 20_000;

/** Most writes in one transaction: a few ms of work, so a retried batch costs little. */
const MAX_BATCH = 200;

export interface PgStoreLimits {
  /** bytes of writes kept while they wait; beyond it writes are dropped (default 16 MiB) */
  maxQueuedBytes: number;
  retryMs: number;
  readWaitMs: number;
  closeWaitMs: number;
}

export const DEFAULT_PG_STORE_LIMITS: PgStoreLimits = {
  maxQueuedBytes: 16 * 1024 * 1024,
  retryMs: 200,
  readWaitMs: 2_000,
  closeWaitMs: 5_000,
};

export interface PgStoreDeps {
  db: PgDatabase;
  /** the instance that owns the calls this store starts (SPEC §14 `INSTANCE_ID`) */
  instanceId: string;
  logger: Logger;
  clock: Clock;
  monitor: StoreMonitor;
  limits?: Partial<PgStoreLimits>;
}

interface Queryable {
  query(sql: string, params?: unknown[]): Promise<{ rowCount: number | null }>;
}

export class PgCallStore extends QueuedWrites implements CallStore {
  private readonly limits: PgStoreLimits;
  private readonly reader: PgCallReader;
  private draining = false;
  private fault: { sinceMs: number; code: string } | null = null;
  private retryTimer: ReturnType<Clock['setTimer']> | null = null;
  /** statements run, for the bench's queries-per-second figure */
  statements = 0;

  constructor(private readonly deps: PgStoreDeps) {
    super(deps);
    this.limits = { ...DEFAULT_PG_STORE_LIMITS, ...deps.limits };
    this.reader = new PgCallReader(deps.db, deps.instanceId, () => this.statements++);
  }

  async outboundCallForKey(key: string): Promise<string | null> {
    await this.readable();
    return this.read(() => this.reader.outboundCallForKey(key));
  }

  async dueEvents(nowMs: number, limit: number): Promise<DueEvent[]> {
    await this.readable();
    return this.read(() => this.reader.claimDue(Math.round(nowMs), limit, Math.round(nowMs) + EVENT_CLAIM_MS));
  }

  async nextEventDueMs(): Promise<number | null> {
    await this.readable();
    return this.read(() => this.reader.nextDueMs(Math.round(this.deps.clock.now())));
  }

  async pendingEvents(): Promise<number> {
    await this.readable();
    return this.read(() => this.reader.pendingCount());
  }

  async listEvents(query: EventQuery): Promise<{ events: EventSummary[]; next: string | null }> {
    await this.readable();
    return this.read(() => this.reader.listEvents(query));
  }

  async getEvent(id: string): Promise<EventSummary | null> {
    await this.readable();
    return this.read(() => this.reader.getEvent(id));
  }

  async getCall(callSid: string): Promise<CallRecord | null> {
    await this.readable();
    return this.read(() => this.reader.getCall(callSid));
  }

  async listCalls(query: ListQuery): Promise<{ calls: CallRecord[]; next: string | null }> {
    await this.readable();
    return this.read(() => this.reader.listCalls(query));
  }

  protected override get maxQueuedBytes(): number {
    return this.limits.maxQueuedBytes;
  }

  protected override accepted(): void {
    this.kick();
  }

  private kick(): void {
    if (this.draining || this.retryTimer !== null || this.pending.length === 0) return;
    this.draining = true;
    // the writes of this turn join one batch; the caller's audio path has already moved on
    queueMicrotask(() => void this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.slice(0, MAX_BATCH);
        const ok = await this.runBatch(batch);
        if (!ok) {
          this.retryTimer = this.deps.clock.setTimer(this.limits.retryMs, () => {
            this.retryTimer = null;
            this.kick();
          });
          return;
        }
        this.landed(batch.at(-1)!.seq);
      }
    } finally {
      this.draining = false;
    }
  }

  /** Runs `batch` in one transaction; false when it must be retried (a fault that can clear). */
  private async runBatch(batch: QueuedWrite[]): Promise<boolean> {
    let client;
    try {
      client = await this.deps.db.pool.connect();
    } catch (err) {
      this.onFault(batch[0]!, err, true);
      return false;
    }
    let broken = false;
    // a connection lost while checked out is reported on the client: without a listener the
    // 'error' event would end the process; the failed query reports it to us anyway
    const lost = () => (broken = true);
    client.on('error', lost);
    try {
      await client.query('BEGIN');
      for (const p of batch) await this.run(client, p.command);
      await client.query('COMMIT');
      this.resumed();
      return true;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      if (isTransientPgError(err) || broken) {
        broken = true;
        this.onFault(batch[0]!, err, true);
        return false;
      }
      // refused for good by one of them: each alone, dropping only the bad ones
      for (const p of batch) {
        try {
          await this.runAlone(client, p.command);
        } catch (single) {
          if (isTransientPgError(single)) {
            broken = true;
            this.onFault(p, single, true);
            return false;
          }
          this.onFault(p, single, false);
        }
        this.landed(p.seq);
      }
      this.resumed();
      return true;
    } finally {
      client.off('error', lost);
      client.release(broken);
    }
  }

  private async run(client: Queryable, command: WriteCommand): Promise<void> {
    for (const w of [command, ...(command.with ?? [])]) {
      const params = w.name === 'insertCall' ? [...w.params, this.deps.instanceId] : w.params;
      this.statements++;
      await client.query(PG_WRITE_SQL[w.name], params);
    }
  }

  private async runAlone(client: Queryable, command: WriteCommand): Promise<void> {
    await client.query('BEGIN');
    try {
      await this.run(client, command);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  private onFault(p: QueuedWrite, err: unknown, transient: boolean): void {
    const code = pgCode(err) ?? 'UNKNOWN';
    const message = err instanceof Error ? err.message : String(err);
    this.deps.monitor.onError(p.command.name);
    if (!transient) {
      this.deps.monitor.onDropped(p.command.name);
      this.deps.logger.error({ op: p.command.name, code, err: message }, 'call store write failed and was dropped');
      return;
    }
    if (this.fault === null) {
      this.fault = { sinceMs: this.deps.clock.now(), code };
      this.deps.logger.error(
        { op: p.command.name, code, err: message, queued: this.pending.length },
        'call store write failed; it and the writes after it are kept and retried',
      );
    }
  }

  private resumed(): void {
    if (this.fault === null) return;
    this.deps.logger.info(
      { faultMs: Math.round(this.deps.clock.now() - this.fault.sinceMs), queued: this.pending.length },
      'call store writes resumed',
    );
    this.fault = null;
  }

  private unavailable(why: string, cause?: unknown): StoreUnavailableError {
    return new StoreUnavailableError(
      `the call store is unavailable (${why}); ${this.pending.length} writes are queued and will be ` +
        'written when it frees; retry shortly',
      cause === undefined ? undefined : { cause },
    );
  }

  private async readable(): Promise<void> {
    const failing = () =>
      this.fault === null ? null : this.unavailable(`${this.fault.code}: PostgreSQL is unreachable or failing`);
    const refused = failing();
    if (refused !== null) throw refused;
    if (!(await this.flush(this.limits.readWaitMs))) throw failing() ?? this.unavailable('writes are slow');
  }

  private async read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isTransientPgError(err)) throw this.unavailable(`${pgCode(err) ?? 'connection'}: unreachable`, err);
      throw err;
    }
  }

  /** Waits up to `timeoutMs` for the queued writes and logs any it must give up; the pool is the caller's. */
  async close(timeoutMs = this.limits.closeWaitMs): Promise<void> {
    if (this.closed) return;
    const done = await this.flush(timeoutMs);
    this.closed = true;
    if (this.retryTimer !== null) this.deps.clock.clearTimer(this.retryTimer);
    if (!done) this.deps.logger.error({ unwritten: this.pending.length }, 'call store: queued writes not written');
  }
}
