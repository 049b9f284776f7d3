/**
 * The PostgreSQL database behind several bridge instances (SPEC §14): the connection pool and
 * the schema. `DATABASE_URL=postgres://…` selects it; SQLite stays the embedded default.
 *
 * Schema changes are migrations in code, applied in order inside one transaction per step and
 * recorded in `bridge_schema`; a transaction-scoped advisory lock makes instances that start
 * together migrate one after the other. The tables mirror the SQLite ones (`calls-repo.ts`,
 * `events-repo.ts`) column for column, so both engines run the same write commands; PostgreSQL
 * adds what only several instances need: the instance leases, used stream tokens, issued
 * CallSids, the shared token key and the profiles.
 *
 * Times are epoch milliseconds in BIGINT columns, read back as numbers (`int8` parser below:
 * every value stays far below 2^53).
 */
import pg from 'pg';

import { BridgeError } from '../util/errors.js';

const MIGRATIONS: readonly string[] = [
  // 1: call records, tool calls, status callbacks and the event outbox (SQLite migrations 1–4)
  `CREATE TABLE calls (
     call_sid       TEXT PRIMARY KEY,
     from_number    TEXT NOT NULL,
     to_number      TEXT NOT NULL,
     profile        TEXT NOT NULL,
     started_ms     BIGINT NOT NULL,
     ended_ms       BIGINT,
     outcome        TEXT NOT NULL DEFAULT 'in_progress',
     detail         TEXT,
     barge_ins      INTEGER NOT NULL DEFAULT 0,
     first_audio_ms INTEGER,
     response_ms    TEXT NOT NULL DEFAULT '[]',
     analysis       TEXT,
     context        TEXT,
     instance_id    TEXT
   );
   CREATE INDEX calls_by_start ON calls (started_ms DESC, call_sid DESC);
   CREATE INDEX calls_by_to ON calls (to_number, started_ms DESC);
   CREATE INDEX calls_open ON calls (instance_id) WHERE outcome = 'in_progress';
   CREATE TABLE turns (
     id        BIGSERIAL PRIMARY KEY,
     call_sid  TEXT NOT NULL REFERENCES calls (call_sid),
     role      TEXT NOT NULL,
     text      TEXT NOT NULL,
     truncated INTEGER NOT NULL DEFAULT 0,
     at_ms     BIGINT NOT NULL
   );
   CREATE INDEX turns_by_call ON turns (call_sid, id);
   CREATE TABLE status_events (
     id       BIGSERIAL PRIMARY KEY,
     call_sid TEXT NOT NULL,
     at_ms    BIGINT NOT NULL,
     kind     TEXT NOT NULL,
     status   TEXT NOT NULL,
     detail   TEXT
   );
   CREATE INDEX status_by_call ON status_events (call_sid, id);
   CREATE TABLE tool_calls (
     id        BIGSERIAL PRIMARY KEY,
     call_sid  TEXT NOT NULL,
     name      TEXT NOT NULL,
     arguments TEXT,
     ok        INTEGER NOT NULL,
     ms        INTEGER NOT NULL,
     at_ms     BIGINT NOT NULL,
     via       TEXT
   );
   CREATE INDEX tool_calls_by_call ON tool_calls (call_sid, at_ms, id);
   CREATE TABLE events (
     seq           BIGSERIAL PRIMARY KEY,
     id            TEXT NOT NULL UNIQUE,
     call_sid      TEXT NOT NULL,
     type          TEXT NOT NULL,
     url           TEXT NOT NULL,
     created_ms    BIGINT NOT NULL,
     data          TEXT,
     status        TEXT NOT NULL DEFAULT 'pending',
     attempts      INTEGER NOT NULL DEFAULT 0,
     next_ms       BIGINT NOT NULL,
     horizon_ms    BIGINT NOT NULL,
     delivered_ms  BIGINT,
     last_error    TEXT,
     claimed_by    TEXT,
     claimed_until BIGINT NOT NULL DEFAULT 0
   );
   CREATE UNIQUE INDEX events_once_per_call ON events (call_sid, type);
   CREATE INDEX events_pending ON events (call_sid, seq) WHERE status = 'pending';
   CREATE INDEX events_due ON events (next_ms, seq) WHERE status = 'pending';`,
  // 2: what several instances share (SPEC §14)
  `CREATE TABLE instances (
     id           TEXT PRIMARY KEY,
     started_ms   BIGINT NOT NULL,
     heartbeat_ms BIGINT NOT NULL
   );
   CREATE TABLE used_stream_tokens (
     token_hash TEXT PRIMARY KEY,
     expires_ms BIGINT NOT NULL
   );
   CREATE TABLE issued_calls (
     call_sid   TEXT PRIMARY KEY,
     expires_ms BIGINT NOT NULL
   );
   CREATE TABLE cluster_secrets (
     name  TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   CREATE TABLE profiles (
     id         INTEGER PRIMARY KEY CHECK (id = 1),
     document   TEXT NOT NULL,
     updated_ms BIGINT NOT NULL
   );`,
  // 3: outbound calls (SPEC §13; SQLite migration 6): each call's direction, and Idempotency-Keys
  `ALTER TABLE calls ADD COLUMN direction TEXT NOT NULL DEFAULT 'inbound';
   CREATE TABLE outbound_requests (
     idempotency_key TEXT PRIMARY KEY,
     call_sid        TEXT NOT NULL,
     created_ms      BIGINT NOT NULL
   );`,
];

/** Any key: only bridge instances take it, only while they migrate. */
const MIGRATION_LOCK_KEY = 0x62726467;

/** The database could not be reached or migrated; the message names the host and database, never the password. */
export class PgOpenError extends BridgeError {
  constructor(where: string, cause: unknown) {
    super('BRIDGE_ERR_STORE', `cannot open the PostgreSQL store ${where}: ${pgReason(cause)}`, { cause });
  }
}

/** `code` of a PostgreSQL error (SQLSTATE) or of a socket error, or null. */
export function pgCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

function pgReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = pgCode(err);
  return code === null ? message : `${message} (${code})`;
}

/**
 * SQLSTATE classes that can clear by themselves: connection failures (08), insufficient
 * resources (53), operator intervention such as a restart (57), serialization and deadlock
 * (40), plus a socket that could not connect or was reset.
 */
export function isTransientPgError(err: unknown): boolean {
  const code = pgCode(err);
  if (code === null) return err instanceof Error && /Connection terminated|timeout/i.test(err.message);
  return /^(08|53|57|40)/.test(code) || /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|AI_AGAIN)$/.test(code);
}

/** `postgres://user@host:5432/db` without the password, for messages. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

export interface PgDatabaseOptions {
  /** schema to create and use instead of `public` (each test file has its own) */
  schema?: string;
  /** connections in the pool (default 10) */
  maxConnections?: number;
  /** `application_name` of its connections, as `pg_stat_activity` shows them (default `phone-realtime-bridge`) */
  applicationName?: string;
}

const INT8_OID = 20;
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: (oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID && format !== 'binary' ? Number : (pg.types.getTypeParser(oid, format ?? 'text') as unknown),
};

/** The pool, migrated; what the PostgreSQL store, the cluster and the notify channel share. */
export class PgDatabase {
  /** the schema the tables live in (`current_schema()`): deployments sharing a database stay apart */
  namespace = 'public';

  private constructor(
    readonly pool: pg.Pool,
    readonly url: string,
    readonly schema: string | null,
  ) {}

  /** @throws PgOpenError (unreachable, refused, a migration failed) naming the database */
  static async open(url: string, options: PgDatabaseOptions = {}): Promise<PgDatabase> {
    const schema = options.schema ?? null;
    if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
      throw new PgOpenError(describeDatabaseUrl(url), new Error(`bad schema name ${JSON.stringify(schema)}`));
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      application_name: options.applicationName ?? 'phone-realtime-bridge',
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      types: TYPES,
      ...(schema !== null ? { options: `-c search_path=${schema}` } : {}),
    });
    // an idle client that loses its connection must not take the process down
    pool.on('error', () => undefined);
    const db = new PgDatabase(pool, url, schema);
    try {
      if (schema !== null) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await db.migrate();
      const { rows } = await pool.query<{ schema: string }>('SELECT current_schema() AS schema');
      db.namespace = rows[0]?.schema ?? 'public';
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new PgOpenError(describeDatabaseUrl(url), err);
    }
    return db;
  }

  /** The client settings for a dedicated connection (LISTEN needs one of its own). */
  clientConfig(): pg.ClientConfig {
    return {
      connectionString: this.url,
      connectionTimeoutMillis: 5_000,
      types: TYPES,
      ...(this.schema !== null ? { options: `-c search_path=${this.schema}` } : {}),
    };
  }

  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    const lost = () => undefined;
    client.on('error', lost);
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await client.query('CREATE TABLE IF NOT EXISTS bridge_schema (version INTEGER NOT NULL)');
      const { rows } = await client.query<{ version: number }>('SELECT version FROM bridge_schema');
      let version = rows[0]?.version ?? 0;
      if (rows.length === 0) await client.query('INSERT INTO bridge_schema (version) VALUES (0)');
      for (; version < MIGRATIONS.length; version++) {
        await client.query(MIGRATIONS[version]!);
        await client.query('UPDATE bridge_schema SET version = $1', [version + 1]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', lost);
      client.release();
    }
  }

  query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(sql, params);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
