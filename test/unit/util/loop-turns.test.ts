import { setImmediate as nextCheck } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { loopTurn } from '../../../src/util/loop-turns.js';

describe('loopTurn', () => {
  it('the first start of a burst goes at once; the others get a loop turn each, in order', async () => {
    const order: string[] = [];
    expect(loopTurn()).toBeNull();
    const waits = [1, 2, 3].map((i) => loopTurn()!.then(() => order.push(`start ${i}`)));
    // nothing else is granted within the tick that asked
    await Promise.resolve();
    expect(order).toEqual([]);
    await nextCheck();
    expect(order).toEqual(['start 1']);
    await Promise.all(waits);
    expect(order).toEqual(['start 1', 'start 2', 'start 3']);
  });

  it('once the burst has drained, the next start goes at once again', async () => {
    // the previous test's burst frees its turn on the next check phase
    await nextCheck();
    expect(loopTurn()).toBeNull();
    const queued = loopTurn();
    expect(queued).not.toBeNull();
    await queued;
    await nextCheck();
    await nextCheck();
    expect(loopTurn()).toBeNull();
  });
});
