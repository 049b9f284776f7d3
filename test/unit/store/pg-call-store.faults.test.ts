/**
 * The PostgreSQL store's faults (SPEC §8 applied to §14): a write the database refuses for good
 * is dropped alone (the batch it was in still lands), a connection killed under the store is a
 * fault that clears (the writes are kept, retried, and land in order), and an unreachable
 * database is a start-up error naming it without its password.
 */
import { describe, expect, it } from 'vitest';

import { PgCallStore } from '../../../src/store/pg-call-store.js';
import { PgDatabase, PgOpenError } from '../../../src/store/pg-database.js';
import { SystemClock } from '../../../src/util/clock.js';
import { LogCapture } from '../../support/log-capture.js';
import { PG_URL, testSchema } from '../../support/postgres.js';
import { whenDone } from '../../support/cleanup.js';

const T0 = Date.UTC(2026, 11, 8, 9, 0, 0);
const call = (callSid: string) => ({ callSid, from: '+1555', to: '+1556', profile: 'defaults', startedAtMs: T0 });
const turn = (text: string, atMs: number) => ({ role: 'caller' as const, text, truncated: false, atMs });

async function open() {
  const db = await PgDatabase.open(PG_URL!, { schema: testSchema(), maxConnections: 2 });
  const logs = new LogCapture();
  const dropped: string[] = [];
  const errors: string[] = [];
  const store = new PgCallStore({
    db,
    instanceId: 'faults',
    logger: logs.logger,
    clock: new SystemClock(),
    monitor: { onError: (op) => errors.push(op), onDropped: (op) => dropped.push(op), onQueued: () => undefined },
    limits: { retryMs: 20 },
  });
  whenDone(async () => {
    await store.close(500);
    await db.close();
  });
  return { db, store, logs, dropped, errors };
}

describe('PostgreSQL store faults', () => {
  it('an unreachable database stops start-up with its address and no password', async () => {
    const err = await PgDatabase.open('postgres://bridge:s3cret-pw@127.0.0.1:1/bridge').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgOpenError);
    expect((err as Error).message).toContain('postgres://bridge@127.0.0.1:1/bridge');
    expect((err as Error).message).not.toContain('s3cret-pw');
  });

  describe.skipIf(PG_URL === null)('against the database', () => {
    it('a write refused for good is dropped alone; the rest of its batch lands', async () => {
      const { store, dropped, logs } = await open();
      store.startCall(call('CA1'));
      // a turn for a call with no row: the foreign key refuses it
      store.addTurn('CA_missing', turn('lost', T0 + 1));
      store.addTurn('CA1', turn('kept', T0 + 2));
      store.finishCall('CA1', 'completed', null, T0 + 3);
      expect(await store.flush(2_000)).toBe(true);
      expect(dropped).toEqual(['insertTurn']);
      expect(logs.lines.some((l) => l.msg === 'call store write failed and was dropped')).toBe(true);
      const record = await store.getCall('CA1');
      expect(record?.turns.map((t) => t.text)).toEqual(['kept']);
      expect(record?.outcome).toBe('completed');
    });

    it('its connection killed mid-batch: the writes are kept, retried and land in order', async () => {
      const app = `faults-${process.pid}-${Date.now()}`;
      const db = await PgDatabase.open(PG_URL!, { schema: testSchema(), maxConnections: 2, applicationName: app });
      const errors: string[] = [];
      const logs = new LogCapture();
      const store = new PgCallStore({
        db,
        instanceId: 'faults',
        logger: logs.logger,
        clock: new SystemClock(),
        monitor: { onError: (op) => errors.push(op), onDropped: () => undefined, onQueued: () => undefined },
        limits: { retryMs: 20 },
      });
      whenDone(async () => {
        await store.close(500);
        await db.close();
      });
      store.startCall(call('CA2'));
      expect(await store.flush(2_000)).toBe(true);

      // another session locks `turns`; the store's batch waits on it; then the server ends the
      // store's connection (what a restart or failover does) and lets go of the lock
      const admin = await PgDatabase.open(PG_URL!, { schema: db.namespace, maxConnections: 2 });
      whenDone(() => admin.close());
      const locker = await admin.pool.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE turns IN ACCESS EXCLUSIVE MODE');
      for (let i = 0; i < 5; i++) store.addTurn('CA2', turn(`turn ${i}`, T0 + 10 + i));
      let waiting = 0;
      while (waiting === 0) {
        const r = await admin.query<{ n: number }>(
          `SELECT COUNT(*)::integer AS n FROM pg_stat_activity
            WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [app],
        );
        waiting = r.rows[0]!.n;
      }
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = $1 AND wait_event_type = 'Lock'`,
        [app],
      );
      await locker.query('COMMIT');
      locker.release();

      expect(await store.flush(3_000)).toBe(true);
      expect(errors).toEqual(['insertTurn']);
      expect(logs.lines.some((l) => l.msg === 'call store writes resumed')).toBe(true);
      expect((await store.getCall('CA2'))?.turns.map((t) => t.text)).toEqual([
        'turn 0',
        'turn 1',
        'turn 2',
        'turn 3',
        'turn 4',
      ]);
    });
  });
});
