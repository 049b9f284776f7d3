/**
 * The event outbox in SQLite (SPEC §10): one row per event, written in the same transaction
 * as the record change that causes it (`WriteCommand.with`), so "call ended" and "event
 * queued" can never disagree. The delivery worker (`events/event-delivery.ts`) reads the rows
 * due now and reports each attempt back as a write.
 *
 * A `call.ended` row is stored with `data` null: its data is the call record as the store
 * has it, built at the first attempt and then kept (`eventData`), so every attempt sends the
 * same body.
 */
import type Database from 'better-sqlite3';

export type EventType = 'call.started' | 'call.ended' | 'call.analyzed';
export const EVENT_TYPES: readonly EventType[] = ['call.started', 'call.ended', 'call.analyzed'];

export type EventStatus = 'pending' | 'delivered' | 'failed';
export const EVENT_STATUSES: readonly EventStatus[] = ['pending', 'delivered', 'failed'];

/** An event to store, with the record change that causes it. */
export interface NewEvent {
  /** `evt_…` */
  id: string;
  type: EventType;
  callSid: string;
  url: string;
  createdAtMs: number;
  /** null for `call.ended`: the call record, built at the first attempt */
  data: Record<string, unknown> | null;
}

/** An event as `GET /api/events` shows it. */
export interface EventSummary {
  id: string;
  type: EventType;
  callSid: string;
  status: EventStatus;
  attempts: number;
  createdAt: string;
  deliveredAt: string | null;
  lastError: string | null;
}

/** An event the delivery worker is to send now. */
export interface DueEvent extends NewEvent {
  attempts: number;
  horizonMs: number;
}

export interface EventQuery {
  status?: EventStatus;
  callSid?: string;
  limit: number;
  cursor?: string | null;
}

/** An event is retried for this long after it was stored (or redelivered), then `failed`. */
export const EVENT_HORIZON_MS = 24 * 3600 * 1000;
const MAX_ERROR_CHARS = 300;

export const EVENT_WRITE_SQL = {
  insertEvent: `INSERT INTO events (id, call_sid, type, url, created_ms, data, next_ms, horizon_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  eventData: `UPDATE events SET data = ? WHERE id = ? AND data IS NULL`,
  // lastError keeps the last failure after a later attempt succeeds: why it took several
  eventAttempt: `UPDATE events SET status = ?, attempts = attempts + 1, next_ms = ?, delivered_ms = ?,
     last_error = COALESCE(?, last_error)
     WHERE id = ?`,
  redeliverEvent: `UPDATE events SET status = 'pending', next_ms = ?, horizon_ms = ? WHERE id = ?`,
  resumeEvents: `UPDATE events SET next_ms = ? WHERE status = 'pending'`,
  storeAnalysis: `UPDATE calls SET analysis = ? WHERE call_sid = ?`,
} as const;

type EventWriteName = keyof typeof EVENT_WRITE_SQL;
interface EventWrite {
  name: EventWriteName;
  params: (string | number | null)[];
}

/** The outcome of one delivery attempt, as stored. */
export type AttemptResult =
  | { status: 'delivered'; atMs: number }
  | { status: 'pending'; nextMs: number; error: string }
  | { status: 'failed'; error: string };

export const eventWrites = {
  insert(event: NewEvent): EventWrite {
    const created = Math.round(event.createdAtMs);
    return {
      name: 'insertEvent',
      params: [
        event.id,
        event.callSid,
        event.type,
        event.url,
        created,
        event.data === null ? null : JSON.stringify(event.data),
        created,
        created + EVENT_HORIZON_MS,
      ],
    };
  },
  data(id: string, data: Record<string, unknown>): EventWrite {
    return { name: 'eventData', params: [JSON.stringify(data), id] };
  },
  attempt(id: string, result: AttemptResult): EventWrite {
    switch (result.status) {
      case 'delivered':
        return { name: 'eventAttempt', params: ['delivered', 0, Math.round(result.atMs), null, id] };
      case 'pending':
        return {
          name: 'eventAttempt',
          params: ['pending', Math.round(result.nextMs), null, result.error.slice(0, MAX_ERROR_CHARS), id],
        };
      case 'failed':
        return { name: 'eventAttempt', params: ['failed', 0, null, result.error.slice(0, MAX_ERROR_CHARS), id] };
    }
  },
  redeliver(id: string, nowMs: number): EventWrite {
    const now = Math.round(nowMs);
    return { name: 'redeliverEvent', params: [now, now + EVENT_HORIZON_MS, id] };
  },
  /** After a restart pending events are tried at once (SPEC §10). */
  resume(nowMs: number): EventWrite {
    return { name: 'resumeEvents', params: [Math.round(nowMs)] };
  },
  analysis(callSid: string, analysis: { summary: string; data: unknown; valid: boolean }): EventWrite {
    return { name: 'storeAnalysis', params: [JSON.stringify(analysis), callSid] };
  },
};

export interface EventRow {
  seq: number;
  id: string;
  call_sid: string;
  type: EventType;
  url: string;
  created_ms: number;
  data: string | null;
  status: EventStatus;
  attempts: number;
  next_ms: number;
  horizon_ms: number;
  delivered_ms: number | null;
  last_error: string | null;
}

export function summary(row: EventRow): EventSummary {
  return {
    id: row.id,
    type: row.type,
    callSid: row.call_sid,
    status: row.status,
    attempts: row.attempts,
    createdAt: new Date(row.created_ms).toISOString(),
    deliveredAt: row.delivered_ms === null ? null : new Date(row.delivered_ms).toISOString(),
    lastError: row.last_error,
  };
}

/** An outbox row as the delivery worker takes it. */
export function dueEvent(r: EventRow): DueEvent {
  return {
    id: r.id,
    type: r.type,
    callSid: r.call_sid,
    url: r.url,
    createdAtMs: r.created_ms,
    data: r.data === null ? null : (JSON.parse(r.data) as Record<string, unknown>),
    attempts: r.attempts,
    horizonMs: r.horizon_ms,
  };
}

/**
 * The first pending event of each call (the only one that may be sent: in order per call),
 * read in due order along `events_due` so a query stops at its limit instead of sorting every
 * pending row (a 1,000-event backlog: ~1 ms per read before, on the audio thread).
 */
const HEADS = `FROM events e WHERE e.status = 'pending'
  AND NOT EXISTS (SELECT 1 FROM events p WHERE p.status = 'pending' AND p.call_sid = e.call_sid AND p.seq < e.seq)`;

/** Reads of the outbox (on the connection `CallsRepo` opened). */
export class EventsRepo {
  private readonly stmts;

  constructor(private readonly db: Database.Database) {
    this.stmts = {
      get: db.prepare(`SELECT * FROM events WHERE id = ?`),
      due: db.prepare(`SELECT * ${HEADS} AND e.next_ms <= ? ORDER BY e.next_ms, e.seq LIMIT ?`),
      nextDue: db.prepare(`SELECT e.next_ms AS next ${HEADS} ORDER BY e.next_ms, e.seq LIMIT 1`),
      pending: db.prepare(`SELECT COUNT(*) AS n FROM events WHERE status = 'pending'`),
    };
  }

  get(id: string): EventSummary | null {
    const row = this.stmts.get.get(id) as EventRow | undefined;
    return row === undefined ? null : summary(row);
  }

  /** Up to `limit` events due at `nowMs`, at most one per call (its oldest pending one). */
  due(nowMs: number, limit: number): DueEvent[] {
    return (this.stmts.due.all(Math.round(nowMs), limit) as EventRow[]).map(dueEvent);
  }

  /** When the next pending event falls due (epoch ms), or null when none is pending. */
  nextDueMs(): number | null {
    return (this.stmts.nextDue.get() as { next: number } | undefined)?.next ?? null;
  }

  pendingCount(): number {
    return (this.stmts.pending.get() as { n: number }).n;
  }

  /** Newest first; `next` is the cursor of the following page or null. */
  list(query: EventQuery): { events: EventSummary[]; next: string | null } {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (query.status !== undefined) {
      where.push('status = ?');
      args.push(query.status);
    }
    if (query.callSid !== undefined) {
      where.push('call_sid = ?');
      args.push(query.callSid);
    }
    const cursor = query.cursor ? decodeEventCursor(query.cursor) : null;
    if (cursor !== null) {
      where.push('seq < ?');
      args.push(cursor);
    }
    const sql = `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, query.limit + 1) as EventRow[];
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const next = rows.length > query.limit && last !== undefined ? encodeEventCursor(last.seq) : null;
    return { events: page.map(summary), next };
  }
}

export function encodeEventCursor(seq: number): string {
  return Buffer.from(`e:${seq}`).toString('base64url');
}

export function decodeEventCursor(cursor: string): number | null {
  const m = /^e:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m === null ? null : Number(m[1]);
}

/** True when `cursor` is one `GET /api/events` issued. */
export function isValidEventCursor(cursor: string): boolean {
  return decodeEventCursor(cursor) !== null;
}
