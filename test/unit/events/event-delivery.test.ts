/**
 * Event delivery timing on a virtual clock (SPEC §10): the real worker, a real SQLite store
 * and a real local backend; only time is virtual. The backend stamps each request with the
 * virtual time, so the back-off is measured where it happens.
 */
import { afterAll, describe, expect, it } from 'vitest';
import path from 'node:path';

import { EventDelivery, retryDelayMs } from '../../../src/events/event-delivery.js';
import { CallsRepo } from '../../../src/store/calls-repo.js';
import { EVENT_HORIZON_MS, type NewEvent } from '../../../src/store/events-repo.js';
import { SqliteCallStore } from '../../../src/store/sqlite-call-store.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { until } from '../../support/call-harness.js';
import { LogCapture } from '../../support/log-capture.js';
import { tempDir } from '../../support/tmp.js';
import { startToolBackend } from '../../support/tool-backend.js';

const backend = await startToolBackend();
const stamps: { type: string; id: string; atMs: number }[] = [];

describe('event delivery on a virtual clock', () => {
  const clock = new VirtualClock();
  const logs = new LogCapture();
  const store = new SqliteCallStore(new CallsRepo(path.join(tempDir(), 'calls.sqlite'), { busyTimeoutMs: 0 }), {
    logger: logs.logger,
    clock,
    monitor: { onError: () => undefined, onDropped: () => undefined, onQueued: () => undefined },
  });
  const attempts: string[] = [];
  const delivery = new EventDelivery({
    store,
    clock,
    logger: logs.logger,
    signingSecret: null,
    redact: (v) => v,
    monitor: {
      onAttempt: (_t, status) => attempts.push(status),
      onDelivered: () => undefined,
      onPending: () => undefined,
    },
  });
  afterAll(async () => {
    delivery.close();
    await store.close();
  });
  backend.on('/fail', (req, res) => {
    const env = JSON.parse(req.body) as { type: string; id: string };
    stamps.push({ type: env.type, id: env.id, atMs: clock.now() });
    res.writeHead(500).end();
  });

  function event(id: string, type: NewEvent['type'], urlPath: string): NewEvent {
    return { id, type, callSid: 'CA1', url: backend.url + urlPath, createdAtMs: clock.now(), data: { n: 1 } };
  }

  /** Moves virtual time to `targetMs` and keeps firing due timers until `done` holds. */
  async function advanceUntil(targetMs: number, done: () => boolean, what: string): Promise<void> {
    clock.advanceTo(targetMs);
    await until(
      () => {
        clock.advance(0);
        return done();
      },
      5_000,
      what,
    );
    await delivery.whenIdle();
  }

  it(
    'retries 1 s after the first failure, doubling to at most 10 min, until 24 h; then failed',
    { timeout: 60_000 },
    async () => {
      const t0 = clock.now();
      store.startCall(
        { callSid: 'CA1', from: '+1', to: '+2', profile: 'defaults', startedAtMs: t0 },
        event('evt_a', 'call.started', '/fail'),
      );
      store.finishCall('CA1', 'completed', null, t0, event('evt_b', 'call.ended', '/fail'));
      delivery.start();
      await advanceUntil(t0, () => stamps.length === 1, 'the first attempt');
      expect(stamps[0]).toMatchObject({ id: 'evt_a', atMs: t0 });
      for (;;) {
        const summary = await store.getEvent('evt_a');
        if (summary?.status === 'failed') break;
        const next = await store.nextEventDueMs();
        expect(next).not.toBeNull();
        const n = stamps.length;
        await advanceUntil(next!, () => stamps.length === n + 1, `attempt ${n + 1}`);
      }
      const times = stamps.filter((s) => s.id === 'evt_a').map((s) => s.atMs);
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      expect(gaps.slice(0, 11)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600].map((s) => s * 1000));
      expect(gaps.every((g) => g <= 600_000)).toBe(true);
      // the last attempt falls inside the horizon, and a further retry would fall outside it
      expect(times.at(-1)! - t0).toBeLessThanOrEqual(EVENT_HORIZON_MS);
      expect(times.at(-1)! + 600_000 - t0).toBeGreaterThan(EVENT_HORIZON_MS);
      const failed = await store.getEvent('evt_a');
      expect(failed).toMatchObject({ status: 'failed', attempts: times.length, lastError: 'HTTP 500' });
      // evt_b was held behind evt_a the whole time; released by its failure, it is tried at once
      await advanceUntil(clock.now(), () => stamps.some((s) => s.id === 'evt_b'), 'the released event');
      const firstB = stamps.findIndex((s) => s.id === 'evt_b');
      expect(firstB).toBe(times.length);
      expect(stamps[firstB]!.atMs).toBe(times.at(-1));
      expect(attempts.filter((a) => a === 'failed')).toHaveLength(1);
    },
  );

  it('the pause sequence itself', () => {
    expect([1, 2, 3, 10, 11, 50].map((n) => retryDelayMs(n))).toEqual([1_000, 2_000, 4_000, 512_000, 600_000, 600_000]);
  });
});
