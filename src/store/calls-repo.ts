/**
 * Call records in SQLite (SPEC §3, §6.8) through better-sqlite3 (v12: v13 crashes on
 * Node 20). WAL mode; every write is one statement and so its own transaction, so a record
 * survives the process being killed at any point: a call row is written at `start`, each
 * transcript turn as it completes, and the row is finalised at the end. Rows a crash left
 * `in_progress` are marked `incomplete` when the store opens.
 *
 * Schema changes are migrations in code, applied in order and recorded in `user_version`.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';

import type { CallOutcome } from '../call/events.js';
import { BridgeError } from '../util/errors.js';
import { EVENT_WRITE_SQL, eventWrites, EventsRepo, type NewEvent } from './events-repo.js';
import { OUTBOUND_MIGRATION, OUTBOUND_WRITE_SQL, OutboundRepo } from './outbound-repo.js';

export type StoredOutcome = CallOutcome | 'in_progress' | 'incomplete';

export interface TurnRecord {
  role: 'caller' | 'assistant';
  text: string;
  at: string;
  truncated: boolean;
}

export interface StatusEvent {
  at: string;
  /** `call` (CallStatus callbacks) or `stream` (StreamEvent callbacks) */
  kind: 'call' | 'stream';
  status: string;
  detail: string | null;
}

/** A call as the admin API shows it. */
export interface CallRecord {
  callSid: string;
  from: string;
  to: string;
  profile: string;
  direction: CallDirection;
  startedAt: string;
  endedAt: string | null;
  outcome: StoredOutcome;
  detail: string | null;
  /** why an `error` call ended (SPEC §8: `media_timeout`, `max_duration`, …); null otherwise */
  reason: string | null;
  durationMs: number | null;
  bargeIns: number;
  latency: {
    /** ms from the call's start to the first assistant audio (greeting) */
    firstAudioMs: number | null;
    /** ms from each caller end-of-turn to the first assistant audio that answered it */
    responseMs: number[];
  };
  turns: TurnRecord[];
  /** every tool call, in the order the model made them (SPEC §9) */
  tools: ToolCallRecord[];
  /** the per-call context service's outcome (SPEC §10); null without `context_url` */
  context: ContextRecord | null;
  statusEvents: StatusEvent[];
  /** the post-call analysis (SPEC §10), once stored */
  analysis: CallAnalysis | null;
}

export interface CallAnalysis {
  summary: string;
  data: unknown;
  /** `data` matches the profile's analysis schema */
  valid: boolean;
}

export interface ContextRecord {
  ok: boolean;
  ms: number;
  error?: string;
}

export interface ToolCallRecord {
  name: string;
  arguments: Record<string, unknown> | null;
  ok: boolean;
  ms: number;
  /** where it ran: `bridge` (built-in, HTTP, MCP through the bridge) or `model` (an MCP tool the provider called) */
  via: 'bridge' | 'model';
  /** when the model called it */
  at: string;
}

/** Who placed the call: the caller (`inbound`) or the bridge through `POST /api/calls` (`outbound`). */
export type CallDirection = 'inbound' | 'outbound';

export interface CallStart {
  callSid: string;
  from: string;
  to: string;
  profile: string;
  startedAtMs: number;
  /** absent = `inbound` */
  direction?: CallDirection;
}

export interface ListQuery {
  /** only calls to this number */
  to?: string;
  /** only calls started at or after this time (epoch ms) */
  sinceMs?: number;
  /** only calls started before this time (epoch ms) */
  untilMs?: number;
  limit: number;
  cursor?: string | null;
}

const MIGRATIONS: readonly string[] = [
  // 1: calls, turns, status callbacks
  `CREATE TABLE calls (
     call_sid    TEXT PRIMARY KEY,
     from_number TEXT NOT NULL,
     to_number   TEXT NOT NULL,
     profile     TEXT NOT NULL,
     started_ms  INTEGER NOT NULL,
     ended_ms    INTEGER,
     outcome     TEXT NOT NULL DEFAULT 'in_progress',
     detail      TEXT,
     barge_ins   INTEGER NOT NULL DEFAULT 0,
     first_audio_ms INTEGER,
     response_ms TEXT NOT NULL DEFAULT '[]'
   );
   CREATE INDEX calls_by_start ON calls (started_ms DESC, call_sid DESC);
   CREATE INDEX calls_by_to ON calls (to_number, started_ms DESC);
   CREATE TABLE turns (
     id        INTEGER PRIMARY KEY AUTOINCREMENT,
     call_sid  TEXT NOT NULL REFERENCES calls (call_sid),
     role      TEXT NOT NULL,
     text      TEXT NOT NULL,
     truncated INTEGER NOT NULL DEFAULT 0,
     at_ms     INTEGER NOT NULL
   );
   CREATE INDEX turns_by_call ON turns (call_sid, id);
   CREATE TABLE status_events (
     id       INTEGER PRIMARY KEY AUTOINCREMENT,
     call_sid TEXT NOT NULL,
     at_ms    INTEGER NOT NULL,
     kind     TEXT NOT NULL,
     status   TEXT NOT NULL,
     detail   TEXT
   );
   CREATE INDEX status_by_call ON status_events (call_sid, id);`,
  // 2: tool calls (SPEC §9)
  `CREATE TABLE tool_calls (
     id        INTEGER PRIMARY KEY AUTOINCREMENT,
     call_sid  TEXT NOT NULL,
     name      TEXT NOT NULL,
     arguments TEXT,
     ok        INTEGER NOT NULL,
     ms        INTEGER NOT NULL,
     at_ms     INTEGER NOT NULL
   );
   CREATE INDEX tool_calls_by_call ON tool_calls (call_sid, at_ms, id);`,
  // 3: event outbox and post-call analysis (SPEC §10)
  `CREATE TABLE events (
     seq          INTEGER PRIMARY KEY AUTOINCREMENT,
     id           TEXT NOT NULL UNIQUE,
     call_sid     TEXT NOT NULL,
     type         TEXT NOT NULL,
     url          TEXT NOT NULL,
     created_ms   INTEGER NOT NULL,
     data         TEXT,
     status       TEXT NOT NULL DEFAULT 'pending',
     attempts     INTEGER NOT NULL DEFAULT 0,
     next_ms      INTEGER NOT NULL,
     horizon_ms   INTEGER NOT NULL,
     delivered_ms INTEGER,
     last_error   TEXT
   );
   CREATE UNIQUE INDEX events_once_per_call ON events (call_sid, type);
   CREATE INDEX events_pending ON events (status, call_sid, seq);
   ALTER TABLE calls ADD COLUMN analysis TEXT;`,
  // 4: who ran a tool call (MCP, SPEC §9) and what the per-call context did (SPEC §10)
  `ALTER TABLE tool_calls ADD COLUMN via TEXT;
   ALTER TABLE calls ADD COLUMN context TEXT;`,
  // 5: the delivery worker reads pending events in due order and stops at its limit
  `CREATE INDEX events_due ON events (status, next_ms, seq);`,
  // 6: outbound calls (SPEC §13): each call's direction, and Idempotency-Keys
  OUTBOUND_MIGRATION,
];

/** Longest arguments JSON kept per tool call. */
const MAX_TOOL_ARGUMENTS_CHARS = 4_000;

export interface CallRow {
  call_sid: string;
  from_number: string;
  to_number: string;
  profile: string;
  started_ms: number;
  ended_ms: number | null;
  outcome: string;
  detail: string | null;
  barge_ins: number;
  first_audio_ms: number | null;
  response_ms: string;
  context: string | null;
  analysis: string | null;
  direction: string;
}

export interface TurnRow {
  role: 'caller' | 'assistant';
  text: string;
  truncated: number;
  at_ms: number;
}

export interface StatusRow {
  kind: 'call' | 'stream';
  status: string;
  detail: string | null;
  at_ms: number;
}

export interface ToolRow {
  name: string;
  arguments: string | null;
  ok: number;
  ms: number;
  at_ms: number;
  via: string | null;
}

/** A call as the admin API shows it, from its rows (the same columns in SQLite and PostgreSQL). */
export function toCallRecord(
  row: CallRow,
  children: { turns: TurnRow[]; statusEvents: StatusRow[]; tools: ToolRow[] },
): CallRecord {
  return {
    callSid: row.call_sid,
    from: row.from_number,
    to: row.to_number,
    profile: row.profile,
    direction: row.direction === 'outbound' ? 'outbound' : 'inbound',
    startedAt: iso(row.started_ms),
    endedAt: row.ended_ms === null ? null : iso(row.ended_ms),
    outcome: row.outcome as StoredOutcome,
    detail: row.detail,
    reason: row.outcome === 'error' ? row.detail : null,
    durationMs: row.ended_ms === null ? null : row.ended_ms - row.started_ms,
    bargeIns: row.barge_ins,
    latency: { firstAudioMs: row.first_audio_ms, responseMs: JSON.parse(row.response_ms) as number[] },
    turns: children.turns.map((t) => ({ role: t.role, text: t.text, at: iso(t.at_ms), truncated: t.truncated === 1 })),
    tools: children.tools.map((t) => ({
      name: t.name,
      arguments: t.arguments === null ? null : (JSON.parse(t.arguments) as Record<string, unknown>),
      ok: t.ok === 1,
      ms: t.ms,
      via: t.via === 'model' ? ('model' as const) : ('bridge' as const),
      at: iso(t.at_ms),
    })),
    context: row.context === null ? null : (JSON.parse(row.context) as ContextRecord),
    statusEvents: children.statusEvents.map((s) => ({
      at: iso(s.at_ms),
      kind: s.kind,
      status: s.status,
      detail: s.detail,
    })),
    analysis: row.analysis === null ? null : (JSON.parse(row.analysis) as CallAnalysis),
  };
}

/** Longest transcript text kept per turn (a runaway model must not bloat the database). */
const MAX_TURN_CHARS = 8_000;
const MAX_RESPONSE_LATENCIES = 200;

/**
 * Every write the store makes, as SQL with positional parameters. Each is one statement, so it
 * is its own transaction and can be retried alone; the writer thread (`write-worker.mjs`) runs
 * them from this table, which is why a read-modify-write (the latency list) is one statement too.
 */
export const WRITE_SQL = {
  insertCall: `INSERT INTO calls (call_sid, from_number, to_number, profile, started_ms, direction)
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (call_sid) DO NOTHING`,
  insertTurn: `INSERT INTO turns (call_sid, role, text, truncated, at_ms) VALUES (?, ?, ?, ?, ?)`,
  bargeIn: `UPDATE calls SET barge_ins = barge_ins + 1 WHERE call_sid = ?`,
  firstAudio: `UPDATE calls SET first_audio_ms = COALESCE(first_audio_ms, ?) WHERE call_sid = ?`,
  responseLatency: `UPDATE calls SET response_ms = json_insert(response_ms, '$[#]', ?)
     WHERE call_sid = ? AND json_array_length(response_ms) < ${MAX_RESPONSE_LATENCIES}`,
  finish: `UPDATE calls SET outcome = ?, detail = ?, ended_ms = ? WHERE call_sid = ? AND outcome = 'in_progress'`,
  insertStatus: `INSERT INTO status_events (call_sid, at_ms, kind, status, detail) VALUES (?, ?, ?, ?, ?)`,
  insertTool: `INSERT INTO tool_calls (call_sid, name, arguments, ok, ms, at_ms, via) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  setContext: `UPDATE calls SET context = ? WHERE call_sid = ?`,
  markIncomplete: `UPDATE calls SET outcome = 'incomplete', detail = 'left open by a crash or a kill'
     WHERE outcome = 'in_progress'`,
  ...EVENT_WRITE_SQL,
  ...OUTBOUND_WRITE_SQL,
} as const;

export type WriteName = keyof typeof WRITE_SQL;

/** One write, as data: what the writer thread runs (and the `op` label of the store metrics). */
export interface WriteCommand {
  name: WriteName;
  params: (string | number | null)[];
  /** writes made in the same transaction (an outbox event with the record change that causes it) */
  with?: WriteCommand[];
}

/** Builds the {@link WriteCommand} for each write the bridge makes; clamps sizes and rounds times. */
export const writes = {
  startCall(call: CallStart, event?: NewEvent): WriteCommand {
    return {
      name: 'insertCall',
      params: [
        call.callSid,
        call.from,
        call.to,
        call.profile,
        Math.round(call.startedAtMs),
        call.direction ?? 'inbound',
      ],
      ...(event ? { with: [eventWrites.insert(event)] } : {}),
    };
  },
  addTurn(callSid: string, turn: TurnWrite): WriteCommand {
    return {
      name: 'insertTurn',
      params: [callSid, turn.role, turn.text.slice(0, MAX_TURN_CHARS), turn.truncated ? 1 : 0, Math.round(turn.atMs)],
    };
  },
  addBargeIn(callSid: string): WriteCommand {
    return { name: 'bargeIn', params: [callSid] };
  },
  /** A latency figure: the first one of the call (greeting), or a response to a caller turn. */
  addLatency(callSid: string, latencyMs: number, afterCallerTurn: boolean): WriteCommand {
    return { name: afterCallerTurn ? 'responseLatency' : 'firstAudio', params: [Math.round(latencyMs), callSid] };
  },
  /** Finalises a call; a call already finalised keeps its first outcome. */
  finishCall(
    callSid: string,
    outcome: CallOutcome,
    detail: string | null,
    endedAtMs: number,
    event?: NewEvent,
  ): WriteCommand {
    return {
      name: 'finish',
      params: [outcome, detail, Math.round(endedAtMs), callSid],
      ...(event ? { with: [eventWrites.insert(event)] } : {}),
    };
  },
  /** The analysis, and its `call.analyzed` event in the same transaction. */
  storeAnalysis(callSid: string, analysis: CallAnalysis, event: NewEvent | null): WriteCommand {
    return { ...eventWrites.analysis(callSid, analysis), ...(event ? { with: [eventWrites.insert(event)] } : {}) };
  },
  addStatusEvent(callSid: string, event: StatusWrite): WriteCommand {
    return {
      name: 'insertStatus',
      params: [
        callSid,
        Math.round(event.atMs),
        event.kind,
        event.status.slice(0, 64),
        event.detail?.slice(0, 500) ?? null,
      ],
    };
  },
  /** A tool call; arguments too long to keep whole are stored as null rather than cut into invalid JSON. */
  addToolCall(callSid: string, call: ToolCallWrite): WriteCommand {
    const args = call.arguments === null ? null : JSON.stringify(call.arguments);
    return {
      name: 'insertTool',
      params: [
        callSid,
        call.name.slice(0, 64),
        args !== null && args.length <= MAX_TOOL_ARGUMENTS_CHARS ? args : null,
        call.ok ? 1 : 0,
        Math.round(call.ms),
        Math.round(call.atMs),
        call.via ?? 'bridge',
      ],
    };
  },
  /** What the per-call context service did (SPEC §10). */
  setContext(callSid: string, context: ContextRecord): WriteCommand {
    const { ok, ms, error } = context;
    const value = { ok, ms: Math.round(ms), ...(error !== undefined ? { error: error.slice(0, 200) } : {}) };
    return { name: 'setContext', params: [JSON.stringify(value), callSid] };
  },
  markAbandoned(): WriteCommand {
    return { name: 'markIncomplete', params: [] };
  },
};

export interface ToolCallWrite {
  name: string;
  arguments: Record<string, unknown> | null;
  ok: boolean;
  ms: number;
  atMs: number;
  /** absent = `bridge` */
  via?: 'bridge' | 'model';
}

export interface TurnWrite {
  role: 'caller' | 'assistant';
  text: string;
  truncated: boolean;
  atMs: number;
}

export interface StatusWrite {
  kind: 'call' | 'stream';
  status: string;
  detail: string | null;
  atMs: number;
}

/** The database file could not be opened or migrated; the message names the file. */
export class StoreOpenError extends BridgeError {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super('BRIDGE_ERR_STORE', `cannot open the call store ${file}: ${sqliteReason(cause)}`, { cause });
  }
}

/** `code` of a better-sqlite3 error (`SQLITE_BUSY`, …), or null for anything else. */
export function sqliteCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : null;
}

function sqliteReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = sqliteCode(err);
  return code === null ? message : `${message} (${code})`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export interface RepoOptions {
  /**
   * How long a statement waits for another connection's lock before SQLITE_BUSY. Reads on the
   * event loop use 0 (a locked store answers at once); the writer thread waits longer.
   */
  busyTimeoutMs?: number;
}

/** How long start-up waits for a lock when the schema must be migrated (no call is live yet). */
const MIGRATION_BUSY_TIMEOUT_MS = 2_000;

/**
 * The SQLite database itself: schema, migrations, reads, and {@link WriteCommand}s run
 * synchronously. The bridge reads through it and writes through `SqliteCallStore`, which runs
 * the same commands on a writer thread.
 */
export class CallsRepo {
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly writeStmts: Record<WriteName, Database.Statement>;
  private eventsRepo: EventsRepo | null = null;
  private outboundRepo: OutboundRepo | null = null;

  /**
   * Opens (and migrates) `DATA_DIR/calls.sqlite`; `:memory:` for tests.
   * @throws StoreOpenError naming the file (not a database, no permission, locked during a migration)
   */
  constructor(
    readonly file: string,
    options: RepoOptions = {},
  ) {
    try {
      if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
      this.db = new Database(file);
      this.db.pragma(`busy_timeout = ${MIGRATION_BUSY_TIMEOUT_MS}`);
      this.db.pragma('journal_mode = WAL');
      // NORMAL is durable against a killed process (the WAL is in the OS page cache); only a
      // power loss can lose the last transactions.
      this.db.pragma('synchronous = NORMAL');
      this.migrate();
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.round(options.busyTimeoutMs ?? 0))}`);
    } catch (err) {
      throw new StoreOpenError(file, err);
    }
    this.writeStmts = Object.fromEntries(
      Object.entries(WRITE_SQL).map(([name, sql]) => [name, this.db.prepare(sql)]),
    ) as Record<WriteName, Database.Statement>;
    this.stmts = {
      getCall: this.db.prepare(`SELECT * FROM calls WHERE call_sid = ?`),
      getTurns: this.db.prepare(`SELECT role, text, truncated, at_ms FROM turns WHERE call_sid = ? ORDER BY id`),
      getStatus: this.db.prepare(
        `SELECT kind, status, detail, at_ms FROM status_events WHERE call_sid = ? ORDER BY id`,
      ),
      getTools: this.db.prepare(
        `SELECT name, arguments, ok, ms, at_ms, via FROM tool_calls WHERE call_sid = ? ORDER BY at_ms, id`,
      ),
    };
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /**
   * Runs one write (and those `with` it, in one transaction) now; returns the rows it changed.
   * @throws the SqliteError (e.g. SQLITE_BUSY)
   */
  apply(command: WriteCommand): number {
    const run = () => {
      const changes = this.writeStmts[command.name].run(...command.params).changes;
      for (const w of command.with ?? []) this.writeStmts[w.name].run(...w.params);
      return changes;
    };
    return command.with === undefined ? run() : this.db.transaction(run)();
  }

  /** The outbound calls' reads (SPEC §13), on this connection. */
  get outbound(): OutboundRepo {
    this.outboundRepo ??= new OutboundRepo(this.db);
    return this.outboundRepo;
  }

  /** The event outbox's reads (SPEC §10), on this connection. */
  get events(): EventsRepo {
    this.eventsRepo ??= new EventsRepo(this.db);
    return this.eventsRepo;
  }

  /** Marks rows a crash left open as `incomplete`; returns how many. Run once at start-up. */
  markAbandoned(): number {
    return this.apply(writes.markAbandoned());
  }

  startCall(call: CallStart): void {
    this.apply(writes.startCall(call));
  }

  addTurn(callSid: string, turn: TurnWrite): void {
    this.apply(writes.addTurn(callSid, turn));
  }

  addBargeIn(callSid: string): void {
    this.apply(writes.addBargeIn(callSid));
  }

  addLatency(callSid: string, latencyMs: number, afterCallerTurn: boolean): void {
    this.apply(writes.addLatency(callSid, latencyMs, afterCallerTurn));
  }

  finishCall(callSid: string, outcome: CallOutcome, detail: string | null, endedAtMs: number): void {
    this.apply(writes.finishCall(callSid, outcome, detail, endedAtMs));
  }

  addStatusEvent(callSid: string, event: StatusWrite): void {
    this.apply(writes.addStatusEvent(callSid, event));
  }

  addToolCall(callSid: string, call: ToolCallWrite): void {
    this.apply(writes.addToolCall(callSid, call));
  }

  setContext(callSid: string, context: ContextRecord): void {
    this.apply(writes.setContext(callSid, context));
  }

  getCall(callSid: string): CallRecord | null {
    const row = this.stmts.getCall.get(callSid) as CallRow | undefined;
    return row === undefined ? null : this.toRecord(row);
  }

  /** Newest first, `limit` per page; `next` is the cursor of the following page or null. */
  listCalls(query: ListQuery): { calls: CallRecord[]; next: string | null } {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (query.to !== undefined) {
      where.push('to_number = ?');
      args.push(query.to);
    }
    if (query.sinceMs !== undefined) {
      where.push('started_ms >= ?');
      args.push(query.sinceMs);
    }
    if (query.untilMs !== undefined) {
      where.push('started_ms < ?');
      args.push(query.untilMs);
    }
    const cursor = query.cursor ? decodeCursor(query.cursor) : null;
    if (cursor !== null) {
      where.push('(started_ms < ? OR (started_ms = ? AND call_sid < ?))');
      args.push(cursor.startedMs, cursor.startedMs, cursor.callSid);
    }
    const sql =
      `SELECT * FROM calls ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ` +
      'ORDER BY started_ms DESC, call_sid DESC LIMIT ?';
    const rows = this.db.prepare(sql).all(...args, query.limit + 1) as CallRow[];
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const next = rows.length > query.limit && last !== undefined ? encodeCursor(last.started_ms, last.call_sid) : null;
    return { calls: page.map((r) => this.toRecord(r)), next };
  }

  private toRecord(row: CallRow): CallRecord {
    return toCallRecord(row, {
      turns: this.stmts.getTurns.all(row.call_sid) as TurnRow[],
      statusEvents: this.stmts.getStatus.all(row.call_sid) as StatusRow[],
      tools: this.stmts.getTools.all(row.call_sid) as ToolRow[],
    });
  }

  close(): void {
    this.db.close();
  }
}

export function encodeCursor(startedMs: number, callSid: string): string {
  return Buffer.from(`${startedMs}:${callSid}`).toString('base64url');
}

export function decodeCursor(cursor: string): { startedMs: number; callSid: string } | null {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const colon = text.indexOf(':');
  const startedMs = Number(text.slice(0, colon));
  if (colon < 1 || !Number.isSafeInteger(startedMs)) return null;
  return { startedMs, callSid: text.slice(colon + 1) };
}

/** True when `cursor` is one this store issued (for a 400 instead of a silent empty page). */
export function isValidCursor(cursor: string): boolean {
  return decodeCursor(cursor) !== null;
}
