/**
 * Reads of the PostgreSQL store (SPEC §14): call records and the event outbox, in the shapes
 * the SQLite reads give (`calls-repo.ts`, `events-repo.ts`), from the same columns.
 */
import {
  decodeCursor,
  encodeCursor,
  toCallRecord,
  type CallRecord,
  type CallRow,
  type ListQuery,
  type StatusRow,
  type ToolRow,
  type TurnRow,
} from './calls-repo.js';
import {
  decodeEventCursor,
  dueEvent,
  encodeEventCursor,
  summary,
  type DueEvent,
  type EventQuery,
  type EventRow,
  type EventSummary,
} from './events-repo.js';
import type { PgDatabase } from './pg-database.js';

/** The first pending event of each call: only it may be sent (in order per call). */
const HEADS = `SELECT DISTINCT ON (call_sid) seq, next_ms, claimed_by, claimed_until
  FROM events WHERE status = 'pending' ORDER BY call_sid, seq`;

export class PgCallReader {
  constructor(
    private readonly db: PgDatabase,
    private readonly instanceId: string,
    private readonly counted: () => void,
  ) {}

  private async rows<R extends object>(sql: string, params: unknown[]): Promise<R[]> {
    this.counted();
    return (await this.db.query<R & Record<string, unknown>>(sql, params)).rows;
  }

  /** The call an outbound request with this Idempotency-Key created (SPEC §13), or null. */
  async outboundCallForKey(key: string): Promise<string | null> {
    const rows = await this.rows<{ call_sid: string }>(
      'SELECT call_sid FROM outbound_requests WHERE idempotency_key = $1',
      [key],
    );
    return rows[0]?.call_sid ?? null;
  }

  async getCall(callSid: string): Promise<CallRecord | null> {
    const rows = await this.rows<CallRow>('SELECT * FROM calls WHERE call_sid = $1', [callSid]);
    return (await this.records(rows))[0] ?? null;
  }

  /** Newest first, `limit` per page; `next` is the cursor of the following page or null. */
  async listCalls(query: ListQuery): Promise<{ calls: CallRecord[]; next: string | null }> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => `$${args.push(v)}`;
    if (query.to !== undefined) where.push(`to_number = ${arg(query.to)}`);
    if (query.sinceMs !== undefined) where.push(`started_ms >= ${arg(query.sinceMs)}`);
    if (query.untilMs !== undefined) where.push(`started_ms < ${arg(query.untilMs)}`);
    const cursor = query.cursor ? decodeCursor(query.cursor) : null;
    if (cursor !== null) {
      const ms = arg(cursor.startedMs);
      where.push(`(started_ms < ${ms} OR (started_ms = ${ms} AND call_sid < ${arg(cursor.callSid)}))`);
    }
    const rows = await this.rows<CallRow>(
      `SELECT * FROM calls ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY started_ms DESC, call_sid DESC LIMIT ${arg(query.limit + 1)}`,
      args,
    );
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const next = rows.length > query.limit && last !== undefined ? encodeCursor(last.started_ms, last.call_sid) : null;
    return { calls: await this.records(page), next };
  }

  /** The records of `rows`, their turns, status callbacks and tools read in three queries for the page. */
  private async records(rows: CallRow[]): Promise<CallRecord[]> {
    if (rows.length === 0) return [];
    const sids = rows.map((r) => r.call_sid);
    const [turns, statuses, tools] = await Promise.all([
      this.rows<TurnRow & { call_sid: string }>(
        'SELECT call_sid, role, text, truncated, at_ms FROM turns WHERE call_sid = ANY($1) ORDER BY id',
        [sids],
      ),
      this.rows<StatusRow & { call_sid: string }>(
        'SELECT call_sid, kind, status, detail, at_ms FROM status_events WHERE call_sid = ANY($1) ORDER BY id',
        [sids],
      ),
      this.rows<ToolRow & { call_sid: string }>(
        `SELECT call_sid, name, arguments, ok, ms, at_ms, via FROM tool_calls
          WHERE call_sid = ANY($1) ORDER BY at_ms, id`,
        [sids],
      ),
    ]);
    const of = <T extends { call_sid: string }>(list: T[], sid: string) => list.filter((x) => x.call_sid === sid);
    return rows.map((row) =>
      toCallRecord(row, {
        turns: of(turns, row.call_sid),
        statusEvents: of(statuses, row.call_sid),
        tools: of(tools, row.call_sid),
      }),
    );
  }

  /**
   * Up to `limit` events due at `nowMs` (at most one per call, its oldest pending one) that no
   * other instance holds, claimed for this one until `claimUntilMs`. Rows another transaction
   * is claiming are skipped, not waited for.
   */
  async claimDue(nowMs: number, limit: number, claimUntilMs: number): Promise<DueEvent[]> {
    const rows = await this.rows<EventRow>(
      `WITH heads AS (${HEADS}),
       due AS (
         SELECT e.seq FROM events e JOIN heads h ON h.seq = e.seq
          WHERE e.next_ms <= $1 AND (e.claimed_by IS NULL OR e.claimed_by = $3 OR e.claimed_until <= $1)
          ORDER BY e.next_ms, e.seq LIMIT $2
            FOR UPDATE OF e SKIP LOCKED)
       UPDATE events SET claimed_by = $3, claimed_until = $4 FROM due WHERE events.seq = due.seq
       RETURNING events.*`,
      [nowMs, limit, this.instanceId, claimUntilMs],
    );
    return rows.sort((a, b) => a.next_ms - b.next_ms || a.seq - b.seq).map(dueEvent);
  }

  /** When the next pending event falls due for this instance (epoch ms), or null when none is pending. */
  async nextDueMs(nowMs: number): Promise<number | null> {
    const rows = await this.rows<{ next: number | null }>(
      `SELECT MIN(CASE WHEN claimed_by IS NOT NULL AND claimed_by <> $1 AND claimed_until > $2
                       THEN GREATEST(next_ms, claimed_until) ELSE next_ms END) AS next
         FROM (${HEADS}) h`,
      [this.instanceId, nowMs],
    );
    return rows[0]?.next ?? null;
  }

  async pendingCount(): Promise<number> {
    const rows = await this.rows<{ n: number }>(
      `SELECT COUNT(*)::integer AS n FROM events WHERE status = 'pending'`,
      [],
    );
    return rows[0]?.n ?? 0;
  }

  async getEvent(id: string): Promise<EventSummary | null> {
    const rows = await this.rows<EventRow>('SELECT * FROM events WHERE id = $1', [id]);
    return rows[0] === undefined ? null : summary(rows[0]);
  }

  async listEvents(query: EventQuery): Promise<{ events: EventSummary[]; next: string | null }> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => `$${args.push(v)}`;
    if (query.status !== undefined) where.push(`status = ${arg(query.status)}`);
    if (query.callSid !== undefined) where.push(`call_sid = ${arg(query.callSid)}`);
    const cursor = query.cursor ? decodeEventCursor(query.cursor) : null;
    if (cursor !== null) where.push(`seq < ${arg(cursor)}`);
    const rows = await this.rows<EventRow>(
      `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY seq DESC LIMIT ${arg(query.limit + 1)}`,
      args,
    );
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const next = rows.length > query.limit && last !== undefined ? encodeEventCursor(last.seq) : null;
    return { events: page.map(summary), next };
  }
}
