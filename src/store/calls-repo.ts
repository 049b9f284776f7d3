/**
 * Call records in SQLite (SPEC §3, §6.8) through better-sqlite3 (v12: v13 crashes on
 * Node 20). WAL mode; every write is its own transaction, so a record survives the process
 * being killed at any point: a call row is written at `start`, each transcript turn as it
 * completes, and the row is finalised at the end. Rows a crash left `in_progress` are
 * marked `incomplete` when the store opens.
 *
 * Schema changes are migrations in code, applied in order and recorded in `user_version`.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';

import type { CallOutcome } from '../call/events.js';

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
  statusEvents: StatusEvent[];
}

export interface ToolCallRecord {
  name: string;
  arguments: Record<string, unknown> | null;
  ok: boolean;
  ms: number;
  /** when the model called it */
  at: string;
}

export interface CallStart {
  callSid: string;
  from: string;
  to: string;
  profile: string;
  startedAtMs: number;
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
];

/** Longest arguments JSON kept per tool call. */
const MAX_TOOL_ARGUMENTS_CHARS = 4_000;

interface CallRow {
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
}

/** Longest transcript text kept per turn (a runaway model must not bloat the database). */
const MAX_TURN_CHARS = 8_000;
const MAX_RESPONSE_LATENCIES = 200;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export class CallsRepo {
  private readonly db: Database.Database;
  private readonly stmts;

  /** Opens (and migrates) `DATA_DIR/calls.sqlite`; `:memory:` for tests. */
  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL is durable against a killed process (the WAL is in the OS page cache); only a
    // power loss can lose the last transactions.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 2000');
    this.migrate();
    this.stmts = {
      insertCall: this.db.prepare(
        `INSERT INTO calls (call_sid, from_number, to_number, profile, started_ms)
         VALUES (@callSid, @from, @to, @profile, @startedAtMs)
         ON CONFLICT (call_sid) DO NOTHING`,
      ),
      insertTurn: this.db.prepare(`INSERT INTO turns (call_sid, role, text, truncated, at_ms) VALUES (?, ?, ?, ?, ?)`),
      bargeIn: this.db.prepare(`UPDATE calls SET barge_ins = barge_ins + 1 WHERE call_sid = ?`),
      firstAudio: this.db.prepare(`UPDATE calls SET first_audio_ms = COALESCE(first_audio_ms, ?) WHERE call_sid = ?`),
      responseLatency: this.db.prepare(`UPDATE calls SET response_ms = ? WHERE call_sid = ?`),
      getLatencies: this.db.prepare(`SELECT response_ms FROM calls WHERE call_sid = ?`),
      finish: this.db.prepare(
        `UPDATE calls SET outcome = ?, detail = ?, ended_ms = ? WHERE call_sid = ? AND outcome = 'in_progress'`,
      ),
      markIncomplete: this.db.prepare(
        `UPDATE calls SET outcome = 'incomplete', detail = 'left open by a crash or a kill'
         WHERE outcome = 'in_progress'`,
      ),
      getCall: this.db.prepare(`SELECT * FROM calls WHERE call_sid = ?`),
      getTurns: this.db.prepare(`SELECT role, text, truncated, at_ms FROM turns WHERE call_sid = ? ORDER BY id`),
      getStatus: this.db.prepare(
        `SELECT kind, status, detail, at_ms FROM status_events WHERE call_sid = ? ORDER BY id`,
      ),
      insertTool: this.db.prepare(
        `INSERT INTO tool_calls (call_sid, name, arguments, ok, ms, at_ms) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      getTools: this.db.prepare(
        `SELECT name, arguments, ok, ms, at_ms FROM tool_calls WHERE call_sid = ? ORDER BY at_ms, id`,
      ),
      insertStatus: this.db.prepare(
        `INSERT INTO status_events (call_sid, at_ms, kind, status, detail) VALUES (?, ?, ?, ?, ?)`,
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

  /** Marks rows a crash left open as `incomplete`; returns how many. Run once at start-up. */
  markAbandoned(): number {
    return this.stmts.markIncomplete.run().changes;
  }

  startCall(call: CallStart): void {
    this.stmts.insertCall.run(call);
  }

  addTurn(
    callSid: string,
    turn: { role: 'caller' | 'assistant'; text: string; truncated: boolean; atMs: number },
  ): void {
    this.stmts.insertTurn.run(
      callSid,
      turn.role,
      turn.text.slice(0, MAX_TURN_CHARS),
      turn.truncated ? 1 : 0,
      Math.round(turn.atMs),
    );
  }

  addBargeIn(callSid: string): void {
    this.stmts.bargeIn.run(callSid);
  }

  /** A latency figure: the first one of the call (greeting), or a response to a caller turn. */
  addLatency(callSid: string, latencyMs: number, afterCallerTurn: boolean): void {
    const ms = Math.round(latencyMs);
    if (!afterCallerTurn) {
      this.stmts.firstAudio.run(ms, callSid);
      return;
    }
    const row = this.stmts.getLatencies.get(callSid) as { response_ms: string } | undefined;
    if (row === undefined) return;
    const list = JSON.parse(row.response_ms) as number[];
    if (list.length >= MAX_RESPONSE_LATENCIES) return;
    list.push(ms);
    this.stmts.responseLatency.run(JSON.stringify(list), callSid);
  }

  /** Finalises a call; a call already finalised keeps its first outcome. */
  finishCall(callSid: string, outcome: CallOutcome, detail: string | null, endedAtMs: number): void {
    this.stmts.finish.run(outcome, detail, Math.round(endedAtMs), callSid);
  }

  addStatusEvent(
    callSid: string,
    event: { kind: 'call' | 'stream'; status: string; detail: string | null; atMs: number },
  ): void {
    this.stmts.insertStatus.run(
      callSid,
      Math.round(event.atMs),
      event.kind,
      event.status.slice(0, 64),
      event.detail?.slice(0, 500) ?? null,
    );
  }

  /** A tool call (arguments too long to keep whole are stored as null rather than cut into invalid JSON). */
  addToolCall(
    callSid: string,
    call: { name: string; arguments: Record<string, unknown> | null; ok: boolean; ms: number; atMs: number },
  ): void {
    const args = call.arguments === null ? null : JSON.stringify(call.arguments);
    this.stmts.insertTool.run(
      callSid,
      call.name.slice(0, 64),
      args !== null && args.length <= MAX_TOOL_ARGUMENTS_CHARS ? args : null,
      call.ok ? 1 : 0,
      Math.round(call.ms),
      Math.round(call.atMs),
    );
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
    const turns = (
      this.stmts.getTurns.all(row.call_sid) as {
        role: 'caller' | 'assistant';
        text: string;
        truncated: number;
        at_ms: number;
      }[]
    ).map((t) => ({
      role: t.role,
      text: t.text,
      at: iso(t.at_ms),
      truncated: t.truncated === 1,
    }));
    const statusEvents = (
      this.stmts.getStatus.all(row.call_sid) as {
        kind: 'call' | 'stream';
        status: string;
        detail: string | null;
        at_ms: number;
      }[]
    ).map((s) => ({
      at: iso(s.at_ms),
      kind: s.kind,
      status: s.status,
      detail: s.detail,
    }));
    const tools = (
      this.stmts.getTools.all(row.call_sid) as {
        name: string;
        arguments: string | null;
        ok: number;
        ms: number;
        at_ms: number;
      }[]
    ).map((t) => ({
      name: t.name,
      arguments: t.arguments === null ? null : (JSON.parse(t.arguments) as Record<string, unknown>),
      ok: t.ok === 1,
      ms: t.ms,
      at: iso(t.at_ms),
    }));
    return {
      callSid: row.call_sid,
      from: row.from_number,
      to: row.to_number,
      profile: row.profile,
      startedAt: iso(row.started_ms),
      endedAt: row.ended_ms === null ? null : iso(row.ended_ms),
      outcome: row.outcome as StoredOutcome,
      detail: row.detail,
      reason: row.outcome === 'error' ? row.detail : null,
      durationMs: row.ended_ms === null ? null : row.ended_ms - row.started_ms,
      bargeIns: row.barge_ins,
      latency: { firstAudioMs: row.first_audio_ms, responseMs: JSON.parse(row.response_ms) as number[] },
      turns,
      tools,
      statusEvents,
    };
  }

  close(): void {
    this.db.close();
  }
}

function encodeCursor(startedMs: number, callSid: string): string {
  return Buffer.from(`${startedMs}:${callSid}`).toString('base64url');
}

function decodeCursor(cursor: string): { startedMs: number; callSid: string } | null {
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
