/**
 * What several instances share in PostgreSQL (SPEC §14), each against the real database with
 * instances as separate pools: leases and the survivor sweep (on a virtual clock), a stream
 * token used once across instances, one CallSid one token, each due event claimed by one
 * instance at a time, and messages between instances over LISTEN/NOTIFY.
 */
import { describe, expect, it } from 'vitest';

import { PgCallStore } from '../../../src/store/pg-call-store.js';
import { clusterSecret, PgCluster, PgIssuedCallLedger, PgTokenUses } from '../../../src/store/pg-cluster.js';
import { PgDatabase } from '../../../src/store/pg-database.js';
import { PgNotify } from '../../../src/store/pg-notify.js';
import { SystemClock, VirtualClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';
import { whenDone } from '../../support/cleanup.js';
import { PG_URL, testSchema } from '../../support/postgres.js';

const T0 = Date.UTC(2026, 11, 8, 9, 0, 0);
const monitor = { onError: () => undefined, onDropped: () => undefined, onQueued: () => undefined };
const logger = silentLogger();

/** `n` instances' pools on one fresh schema. */
async function instances(n: number): Promise<PgDatabase[]> {
  const schema = testSchema();
  const dbs: PgDatabase[] = [];
  for (let i = 0; i < n; i++) dbs.push(await PgDatabase.open(PG_URL!, { schema, maxConnections: 4 }));
  whenDone(async () => {
    for (const db of dbs) await db.close();
  });
  return dbs;
}

describe.skipIf(PG_URL === null)('several instances on PostgreSQL', () => {
  it('a dead instance’s calls are marked incomplete by a survivor, a live one’s are not', async () => {
    const [da, db] = await instances(2);
    const clock = new VirtualClock(T0);
    const a = new PgCluster({ db: da!, instanceId: 'a', clock, logger });
    const b = new PgCluster({ db: db!, instanceId: 'b', clock, logger });
    await a.join();
    await b.join();
    const storeA = new PgCallStore({ db: da!, instanceId: 'a', logger, clock, monitor });
    const storeB = new PgCallStore({ db: db!, instanceId: 'b', logger, clock, monitor });
    const call = (callSid: string) => ({ callSid, from: '+1555', to: '+1556', profile: 'defaults', startedAtMs: T0 });
    storeA.startCall(call('CA_a'));
    storeB.startCall(call('CA_b'));
    expect(await storeA.flush(2_000)).toBe(true);
    expect(await storeB.flush(2_000)).toBe(true);

    // b stops beating (killed); a beats on: within expiry + one beat b's lease is gone
    await b.leave().then(() => db!.query(`INSERT INTO instances VALUES ('b', $1, $1)`, [T0]));
    clock.advance(14_000);
    await da!.query(`UPDATE instances SET heartbeat_ms = $1 WHERE id = 'a'`, [clock.now()]);
    expect(await a.sweep()).toBe(0);
    clock.advance(2_000);
    expect(await a.sweep()).toBe(1);
    expect((await storeA.getCall('CA_b'))?.outcome).toBe('incomplete');
    expect((await storeA.getCall('CA_a'))?.outcome).toBe('in_progress');
    await a.leave();
  });

  it('a token is used once across instances; a CallSid gets one token; one key for all', async () => {
    const [da, db] = await instances(2);
    const clock = new SystemClock();
    const [ua, ub] = [new PgTokenUses(da!, clock), new PgTokenUses(db!, clock)];
    const results = await Promise.all([ua.claim('v1.tok', 60_000), ub.claim('v1.tok', 60_000)]);
    expect(results.sort()).toEqual([false, true]);
    expect(await ub.claim('v1.other', 60_000)).toBe(true);
    const [ia, ib] = [new PgIssuedCallLedger(da!, clock, 60_000), new PgIssuedCallLedger(db!, clock, 60_000)];
    expect(await ia.claim('CA1')).toBe(true);
    expect(await ib.claim('CA1')).toBe(false);
    const [ka, kb] = await Promise.all([clusterSecret(da!, 'k'), clusterSecret(db!, 'k')]);
    expect(ka).toBe(kb);
    expect(ka.length).toBeGreaterThanOrEqual(40);
  });

  it('each due event is claimed by one instance at a time, and falls to another when its claim lapses', async () => {
    const [da, db] = await instances(2);
    const clock = new VirtualClock(T0);
    const a = new PgCallStore({ db: da!, instanceId: 'a', logger, clock, monitor });
    const b = new PgCallStore({ db: db!, instanceId: 'b', logger, clock, monitor });
    for (let i = 0; i < 20; i++) {
      const callSid = `CA${i}`;
      a.startCall(
        { callSid, from: '+1555', to: '+1556', profile: 'defaults', startedAtMs: T0 },
        { id: `evt_${i}`, type: 'call.started', callSid, url: 'http://127.0.0.1:1/', createdAtMs: T0, data: {} },
      );
    }
    expect(await a.flush(2_000)).toBe(true);
    const [ea, eb] = await Promise.all([a.dueEvents(T0, 15), b.dueEvents(T0, 15)]);
    const ids = [...ea, ...eb].map((e) => e.id);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
    // the holder sees its own again (in flight); the other sees none until the claim lapses
    expect((await a.dueEvents(T0 + 1, 20)).length).toBe(ea.length);
    expect(await b.dueEvents(T0 + 1, 20)).toHaveLength(eb.length);
    expect(await b.nextEventDueMs()).toBe(T0);
    clock.advance(60_000);
    expect(await b.dueEvents(clock.now(), 20)).toHaveLength(20);
  });

  it('a message reaches the instance it is addressed to, or all; garbage is dropped', async () => {
    const [da, db] = await instances(2);
    const clock = new SystemClock();
    const a = await PgNotify.open({ db: da!, instanceId: 'a', clock, logger });
    const b = await PgNotify.open({ db: db!, instanceId: 'b', clock, logger });
    whenDone(async () => {
      await a.close();
      await b.close();
    });
    const gotA: unknown[] = [];
    const gotB: unknown[] = [];
    const toA = new Promise<void>((resolve) =>
      a.subscribe('call.control', (body, from) => {
        gotA.push([from, body]);
        resolve();
      }),
    );
    const toB = new Promise<void>((resolve) =>
      b.subscribe('call.control', (body, from) => {
        gotB.push([from, body]);
        if (gotB.length === 2) resolve();
      }),
    );
    await da!.query(`SELECT pg_notify($1, 'not json')`, [`bridge_cluster_${da!.namespace}`]);
    await a.publish('call.control', { callSid: 'CA1', action: 'hang_up' }, 'b');
    await a.publish('call.control', { all: true });
    await Promise.all([toA, toB]);
    expect(gotB).toEqual([
      ['a', { callSid: 'CA1', action: 'hang_up' }],
      ['a', { all: true }],
    ]);
    expect(gotA).toEqual([['a', { all: true }]]);
  });
});
