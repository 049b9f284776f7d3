/**
 * Outbound-call bookkeeping in the store (SPEC §13): the `Idempotency-Key` of each
 * `POST /api/calls` and the call it created, so the same key never dials twice, even after a
 * restart. Kept apart from the call records so another engine (PostgreSQL, SPEC §14) ports it
 * as three statements: one write, one read, and the migration below.
 */
import type Database from 'better-sqlite3';

/** Migration 6 (appended to `calls-repo.ts`'s list): call direction, and the idempotency keys. */
export const OUTBOUND_MIGRATION = `ALTER TABLE calls ADD COLUMN direction TEXT NOT NULL DEFAULT 'inbound';
   CREATE TABLE outbound_requests (
     idempotency_key TEXT PRIMARY KEY,
     call_sid TEXT NOT NULL,
     created_ms INTEGER NOT NULL
   );`;

/** The writes, run by the writer thread like every other (the first key's call stays). */
export const OUTBOUND_WRITE_SQL = {
  insertOutboundRequest: `INSERT INTO outbound_requests (idempotency_key, call_sid, created_ms)
     VALUES (?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`,
} as const;

/** Longest Idempotency-Key kept (Stripe's limit); longer keys are refused by the route. */
export const MAX_IDEMPOTENCY_KEY_CHARS = 255;

export const outboundWrites = {
  rememberRequest(key: string, callSid: string, atMs: number) {
    return { name: 'insertOutboundRequest' as const, params: [key, callSid, Math.round(atMs)] };
  },
};

/** The reads, on the reader connection. */
export class OutboundRepo {
  private readonly find: Database.Statement;

  constructor(db: Database.Database) {
    this.find = db.prepare(`SELECT call_sid FROM outbound_requests WHERE idempotency_key = ?`);
  }

  /** The call an earlier request with this key created, or null. */
  callForKey(key: string): string | null {
    const row = this.find.get(key) as { call_sid: string } | undefined;
    return row?.call_sid ?? null;
  }
}
