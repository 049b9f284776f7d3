/**
 * The SQLite call store under a lock held by another connection (issue #14 item 2, SPEC §8):
 * writes never wait for it, nothing is lost when it goes, reads refuse at once with a clear
 * error, and the queue is bounded. The lock is real: a second better-sqlite3 connection on the
 * same file holding `BEGIN EXCLUSIVE`, as the sqlite3 CLI or a backup job would.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import { StoreUnavailableError } from '../../../src/store/call-store.js';
import { CallsRepo, StoreOpenError } from '../../../src/store/calls-repo.js';
import { SqliteCallStore, type SqliteStoreLimits } from '../../../src/store/sqlite-call-store.js';
import { SystemClock } from '../../../src/util/clock.js';
import { LogCapture } from '../../support/log-capture.js';
import { tempDir } from '../../support/tmp.js';

const T0 = Date.UTC(2026, 11, 7, 21, 0, 0);
const sid = (i: number) => `CA${String(i).padStart(32, '0')}`;

interface Counts {
  errors: Map<string, number>;
  dropped: Map<string, number>;
  queued: number[];
}

const open: SqliteCallStore[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close(100)));
});

function openStore(file: string, limits: Partial<SqliteStoreLimits> = {}) {
  const logs = new LogCapture();
  const counts: Counts = { errors: new Map(), dropped: new Map(), queued: [] };
  const bump = (m: Map<string, number>, op: string) => m.set(op, (m.get(op) ?? 0) + 1);
  const store = new SqliteCallStore(new CallsRepo(file, { busyTimeoutMs: 0 }), {
    logger: logs.logger,
    clock: new SystemClock(),
    monitor: {
      onError: (op) => bump(counts.errors, op),
      onDropped: (op) => bump(counts.dropped, op),
      onQueued: (n) => counts.queued.push(n),
    },
    limits: { writerBusyTimeoutMs: 20, retryMs: 10, ...limits },
  });
  open.push(store);
  return { store, logs, counts };
}

/** Another connection holding the write lock, as `sqlite3 calls.sqlite 'BEGIN EXCLUSIVE'` would. */
function lockFile(file: string): { release(): void } {
  const db = new Database(file);
  db.exec('BEGIN EXCLUSIVE');
  return {
    release() {
      db.exec('COMMIT');
      db.close();
    },
  };
}

function placeCall(store: SqliteCallStore, i: number): void {
  const callSid = sid(i);
  store.startCall({ callSid, from: '+15550001111', to: '+15551230001', profile: 'defaults', startedAtMs: T0 + i });
  store.addLatency(callSid, 800 + i, false);
  for (let t = 0; t < 4; t++)
    store.addTurn(callSid, {
      role: t % 2 === 0 ? 'assistant' : 'caller',
      text: `call ${i} turn ${t}`,
      truncated: false,
      atMs: T0 + i + t * 1000,
    });
  store.addLatency(callSid, 600 + i, true);
  store.addBargeIn(callSid);
  store.finishCall(callSid, 'caller_hung_up', null, T0 + i + 10_000);
}

describe('SqliteCallStore under a lock held by another connection', () => {
  it(
    'writes return at once, reads answer StoreUnavailableError, and after the lock goes every ' +
      'record lands complete and in order; the fault is logged once and counted per write',
    { timeout: 15_000 },
    async () => {
      const file = path.join(tempDir(), 'calls.sqlite');
      const { store, logs, counts } = openStore(file);
      const lock = lockFile(file);

      let slowestMs = 0;
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        placeCall(store, i);
        slowestMs = Math.max(slowestMs, performance.now() - started);
      }
      // 9 writes per call; before this change the first of them waited 2 s for the lock, then threw
      expect(slowestMs).toBeLessThan(50);
      const fault = await logs.waitFor('call store write failed; it and the writes after it are kept and retried');
      expect(fault).toMatchObject({ op: 'insertCall', code: 'SQLITE_BUSY' });
      await expect(store.listCalls({ limit: 5 })).rejects.toThrow(StoreUnavailableError);
      await expect(store.getCall(sid(0))).rejects.toThrow(/locked by another process or failing.*writes are queued/);
      expect(store.queuedWrites).toBe(20 * 9);
      expect(counts.errors.get('insertCall')).toBe(1);

      lock.release();
      expect(await store.flush(5_000)).toBe(true);
      await logs.waitFor('call store writes resumed');
      const { calls } = await store.listCalls({ limit: 100 });
      expect(calls).toHaveLength(20);
      for (let i = 0; i < 20; i++) {
        expect(await store.getCall(sid(i))).toMatchObject({
          outcome: 'caller_hung_up',
          bargeIns: 1,
          latency: { firstAudioMs: 800 + i, responseMs: [600 + i] },
          turns: [0, 1, 2, 3].map((t) => ({ text: `call ${i} turn ${t}` })),
        });
      }
      expect(counts.dropped.size).toBe(0);
      expect(logs.lines.filter((l) => l.msg.startsWith('call store write failed'))).toHaveLength(1);
      expect(counts.queued.at(-1)).toBe(0);
    },
  );

  it('a write the database refuses for good is dropped alone and counted; the writes after it land', async () => {
    const file = path.join(tempDir(), 'calls.sqlite');
    const { store, logs, counts } = openStore(file);
    // a turn for a call that was never started breaks the turns → calls foreign key
    store.addTurn(sid(99), { role: 'caller', text: 'orphan', truncated: false, atMs: T0 });
    placeCall(store, 1);
    expect(await store.flush(5_000)).toBe(true);
    expect(await logs.waitFor('call store write failed and was dropped')).toMatchObject({
      op: 'insertTurn',
      code: 'SQLITE_CONSTRAINT_FOREIGNKEY',
    });
    expect(counts.dropped.get('insertTurn')).toBe(1);
    expect(counts.errors.get('insertTurn')).toBe(1);
    expect((await store.getCall(sid(1)))?.turns).toHaveLength(4);
  });

  it('the queue is bounded: past maxQueuedBytes new writes are dropped and counted, older ones land', async () => {
    const file = path.join(tempDir(), 'calls.sqlite');
    const { store, logs, counts } = openStore(file, { maxQueuedBytes: 64 * 1024 });
    const lock = lockFile(file);
    store.startCall({ callSid: sid(1), from: '+15550001111', to: '+15551230001', profile: 'p', startedAtMs: T0 });
    const text = 'x'.repeat(4_000); // ~8 KB queued each: the 8th does not fit
    for (let t = 0; t < 12; t++) store.addTurn(sid(1), { role: 'caller', text, truncated: false, atMs: T0 + t });
    expect(counts.dropped.get('insertTurn')).toBe(5);
    await logs.waitFor('call store queue full: new writes are dropped until it drains');
    lock.release();
    expect(await store.flush(5_000)).toBe(true);
    expect((await store.getCall(sid(1)))?.turns).toHaveLength(7);
  });

  it('a file that is not a database stops the store with an error naming the file', () => {
    const file = path.join(tempDir(), 'calls.sqlite');
    writeFileSync(file, 'this is not a database, it is a text file long enough to have a header'.repeat(20));
    expect(() => new CallsRepo(file)).toThrow(StoreOpenError);
    expect(() => new CallsRepo(file)).toThrow(`cannot open the call store ${file}: file is not a database`);
  });
});
