/**
 * SystemClock timers at the edges of Node's range (found by the fuzz suite: a
 * `session.created` whose `expires_at` lay 40 days ahead — or was 1e308 — made the session's
 * renewal timer fire after 1 ms with a TimeoutOverflowWarning on stderr, so the bridge
 * reconnected the model at once instead of in 40 days).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { MAX_TIMER_DELAY_MS, SystemClock } from '../../../src/util/clock.js';

describe('SystemClock.setTimer beyond 2^31 − 1 ms', () => {
  const clock = new SystemClock();
  const handles: ReturnType<SystemClock['setTimer']>[] = [];
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  afterAll(() => {
    process.off('warning', onWarning);
  });
  afterEach(() => {
    for (const h of handles.splice(0)) clock.clearTimer(h);
  });

  it.each([MAX_TIMER_DELAY_MS + 1, 40 * 86_400_000, 1e308 * 1000])(
    'a %s ms timer does not fire before a 5 ms one (nor warn)',
    async (delayMs) => {
      let fired = false;
      handles.push(clock.setTimer(delayMs, () => (fired = true)));
      // Node runs an overflowed timer after 1 ms: it would come before this one.
      await new Promise<void>((resolve) => handles.push(clock.setTimer(5, resolve)));
      expect(fired).toBe(false);
      expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
    },
  );

  it('NaN and negative delays run on the next timer turn', async () => {
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      handles.push(clock.setTimer(Number.NaN, () => order.push('nan')));
      handles.push(clock.setTimer(-5, () => order.push('negative')));
      handles.push(clock.setTimer(5, resolve));
    });
    expect(order).toEqual(['nan', 'negative']);
  });
});
