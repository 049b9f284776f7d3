/**
 * Several instances on one PostgreSQL (SPEC §14): who is alive, and what they share.
 *
 * - **Leases.** Each instance has a row in `instances` and renews it every
 *   {@link CLUSTER_TIMINGS}.heartbeatMs. A row not renewed for `expiryMs` belongs to a dead
 *   instance (kill -9, lost host): the next survivor to beat deletes it and marks the calls it
 *   owned `incomplete`. Worst case from the kill to the mark: expiry + one heartbeat = 20 s,
 *   inside the 30 s SPEC §14 allows. An instance that restarts under the same `INSTANCE_ID`
 *   marks its own leftovers at once.
 * - **Stream tokens** are single-use across instances: a token's SHA-256 (never the token) is
 *   inserted once; the second instance to present it finds the row and refuses.
 * - **Issued CallSids** (one token per CallSid, SPEC §8) and the **token key** (local mode
 *   without TWILIO_AUTH_TOKEN: every instance must verify the others' tokens) live here too.
 */
import { createHash, randomBytes } from 'node:crypto';

import type { IssuedCallLedger } from '../security/issued-calls.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { PgDatabase } from './pg-database.js';

export interface ClusterTimings {
  /** how often an instance renews its lease (and sweeps for dead ones) */
  heartbeatMs: number;
  /** a lease not renewed for this long is a dead instance's */
  expiryMs: number;
}

/**
 * 5 s beats, 15 s expiry: three missed beats (a GC pause or a slow database is never that
 * long) before an instance is declared dead; 20 s at worst from a kill to its calls' mark.
 */
export const CLUSTER_TIMINGS: ClusterTimings = { heartbeatMs: 5_000, expiryMs: 15_000 };

const ABANDONED = `UPDATE calls SET outcome = 'incomplete', detail = 'left open by a crash or a kill'
  WHERE outcome = 'in_progress'`;

export interface ClusterDeps {
  db: PgDatabase;
  instanceId: string;
  clock: Clock;
  logger: Logger;
  timings?: Partial<ClusterTimings>;
}

/** This instance's lease, and the sweep that finds dead ones. */
export class PgCluster {
  private readonly timings: ClusterTimings;
  private timer: TimerHandle | null = null;
  private stopped = false;
  /**
   * Runs after every heartbeat: the delivery worker looks at the shared outbox then, so events
   * another instance stored (or left behind when it died) are found within a beat.
   */
  onBeat: () => void = () => undefined;

  constructor(private readonly deps: ClusterDeps) {
    this.timings = { ...CLUSTER_TIMINGS, ...deps.timings };
  }

  /**
   * Marks what a previous run under this id left open, takes the lease, sweeps once and starts
   * beating. Returns how many of this id's calls were left open.
   */
  async join(): Promise<number> {
    const { db, instanceId, clock } = this.deps;
    const mine = await db.query(`${ABANDONED} AND instance_id = $1`, [instanceId]);
    await this.beat(Math.round(clock.now()));
    await this.sweep();
    this.schedule();
    return mine.rowCount ?? 0;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimer(this.timings.heartbeatMs, () => {
      this.timer = null;
      void this.tick();
    });
  }

  private async tick(): Promise<void> {
    try {
      await this.beat(Math.round(this.deps.clock.now()));
      await this.sweep();
      this.onBeat();
    } catch (err) {
      // the database is away: the lease may lapse, and the calls' writes wait in the store
      this.deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'cluster heartbeat failed');
    } finally {
      this.schedule();
    }
  }

  private async beat(nowMs: number): Promise<void> {
    await this.deps.db.query(
      `INSERT INTO instances (id, started_ms, heartbeat_ms) VALUES ($1, $2, $2)
       ON CONFLICT (id) DO UPDATE SET heartbeat_ms = EXCLUDED.heartbeat_ms`,
      [this.deps.instanceId, nowMs],
    );
  }

  /**
   * Ends the leases not renewed within the expiry and marks their calls (and calls of no known
   * instance) `incomplete`; drops expired token and CallSid rows. Returns the calls marked.
   */
  async sweep(): Promise<number> {
    const { db, clock, logger } = this.deps;
    const now = Math.round(clock.now());
    const dead = await db.query<{ id: string }>('DELETE FROM instances WHERE heartbeat_ms < $1 RETURNING id', [
      now - this.timings.expiryMs,
    ]);
    const marked = await db.query<{ call_sid: string; instance_id: string | null }>(
      `${ABANDONED} AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = calls.instance_id)
       RETURNING call_sid, instance_id`,
    );
    await db.query('DELETE FROM used_stream_tokens WHERE expires_ms < $1', [now]);
    await db.query('DELETE FROM issued_calls WHERE expires_ms < $1', [now]);
    if (dead.rows.length > 0 || marked.rows.length > 0)
      logger.warn(
        {
          instances: dead.rows.map((r) => r.id),
          calls: marked.rows.length,
          callSids: marked.rows.slice(0, 20).map((r) => r.call_sid),
        },
        'calls of a dead instance marked incomplete',
      );
    return marked.rows.length;
  }

  /** The instance holding the live call `callSid` (from its record), or null when none does. */
  async ownerOf(callSid: string): Promise<string | null> {
    const { rows } = await this.deps.db.query<{ instance_id: string | null }>(
      `SELECT instance_id FROM calls WHERE call_sid = $1 AND outcome = 'in_progress'`,
      [callSid],
    );
    return rows[0]?.instance_id ?? null;
  }

  /** Stops beating and gives the lease up (after this instance's calls have ended). */
  async leave(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.deps.clock.clearTimer(this.timer);
    await this.deps.db.query('DELETE FROM instances WHERE id = $1', [this.deps.instanceId]);
  }
}

/** Stream tokens used anywhere in the cluster. */
export class PgTokenUses {
  constructor(
    private readonly db: PgDatabase,
    private readonly clock: Clock,
  ) {}

  /** True the first time any instance presents `token`; kept until `expiresAfterMs` from now. */
  async claim(token: string, expiresAfterMs: number): Promise<boolean> {
    const hash = createHash('sha256').update(token).digest('base64url');
    const result = await this.db.query(
      'INSERT INTO used_stream_tokens (token_hash, expires_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [hash, Math.round(this.clock.now() + expiresAfterMs)],
    );
    return result.rowCount === 1;
  }
}

/** The CallSids given a token, across instances (SPEC §8, §14). */
export class PgIssuedCallLedger implements IssuedCallLedger {
  constructor(
    private readonly db: PgDatabase,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  async claim(callSid: string): Promise<boolean> {
    const now = Math.round(this.clock.now());
    // a row past its expiry is taken over; a live one refuses
    const result = await this.db.query(
      `INSERT INTO issued_calls (call_sid, expires_ms) VALUES ($1, $2)
       ON CONFLICT (call_sid) DO UPDATE SET expires_ms = EXCLUDED.expires_ms WHERE issued_calls.expires_ms < $3`,
      [callSid, now + this.ttlMs, now],
    );
    return result.rowCount === 1;
  }
}

/** A random secret shared by every instance (made by the first to ask); never logged. */
export async function clusterSecret(db: PgDatabase, name: string): Promise<string> {
  await db.query('INSERT INTO cluster_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    name,
    randomBytes(32).toString('base64url'),
  ]);
  const { rows } = await db.query<{ value: string }>('SELECT value FROM cluster_secrets WHERE name = $1', [name]);
  return rows[0]!.value;
}
