import { describe, expect, it } from 'vitest';

import { WarmStarts, WARM_UNCLAIMED_MS } from '../../../src/call/warm-start.js';
import { VirtualClock } from '../../../src/util/clock.js';

function fake() {
  const s = { closed: false, close: () => void (s.closed = true) };
  return s;
}

describe('warm starts (SPEC §11): claimed by CallSid, closed unclaimed at 10 s, at most PREWARM_MAX', () => {
  it('an unclaimed session is closed at exactly 10 s', () => {
    const clock = new VirtualClock();
    const unclaimed: string[] = [];
    const pool = new WarmStarts<ReturnType<typeof fake>>({
      clock,
      maxWaiting: 20,
      onUnclaimed: (c) => unclaimed.push(c),
    });
    const s = fake();
    expect(pool.open('CA1', () => s)).toBe(true);
    clock.advance(WARM_UNCLAIMED_MS - 1);
    expect(s.closed).toBe(false);
    clock.advance(1);
    expect(s.closed).toBe(true);
    expect(unclaimed).toEqual(['CA1']);
    expect(pool.claim('CA1')).toBeNull();
  });

  it('a claimed session is handed over once and never closed by the timer', () => {
    const clock = new VirtualClock();
    const pool = new WarmStarts<ReturnType<typeof fake>>({ clock, maxWaiting: 20 });
    const s = fake();
    pool.open('CA1', () => s);
    clock.advance(3_000);
    expect(pool.claim('CA1')).toBe(s);
    expect(pool.claim('CA1')).toBeNull();
    clock.advance(WARM_UNCLAIMED_MS);
    expect(s.closed).toBe(false);
  });

  it('PREWARM_MAX waiting at most, one per CallSid; a claim or a close frees a place', () => {
    const clock = new VirtualClock();
    const pool = new WarmStarts<ReturnType<typeof fake>>({ clock, maxWaiting: 2 });
    let made = 0;
    const make = () => (made++, fake());
    expect([pool.open('CA1', make), pool.open('CA1', make), pool.open('CA2', make), pool.open('CA3', make)]).toEqual([
      true,
      false,
      true,
      false,
    ]);
    expect(made).toBe(2);
    pool.claim('CA1');
    expect(pool.open('CA3', make)).toBe(true);
    pool.closeAll();
    expect(pool.size).toBe(0);
  });
});
