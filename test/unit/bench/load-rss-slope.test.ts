import { describe, expect, it } from 'vitest';

import { rssSlopeMbPerCall } from '../../../bench/load.js';

describe('rssSlopeMbPerCall', () => {
  it('is the growth per added call, with a fixed start-up cost cancelled', () => {
    // 20 MB that does not depend on the calls, 0.15 MB per call
    const steps = [25, 50, 100, 200, 400].map((calls) => ({ calls, growthMb: 20 + 0.15 * calls }));
    expect(rssSlopeMbPerCall(steps)).toBeCloseTo(0.15, 10);
    // what the per-step division would say at 25 calls
    expect(steps[0]!.growthMb / steps[0]!.calls).toBeCloseTo(0.95, 10);
  });

  it('is the least-squares slope when the points scatter', () => {
    expect(
      rssSlopeMbPerCall([
        { calls: 0, growthMb: 1 },
        { calls: 1, growthMb: 0 },
        { calls: 2, growthMb: 5 },
      ]),
    ).toBeCloseTo(2, 10);
  });

  it('is null without two distinct steps', () => {
    expect(rssSlopeMbPerCall([{ calls: 100, growthMb: 30 }])).toBeNull();
    expect(
      rssSlopeMbPerCall([
        { calls: 100, growthMb: 30 },
        { calls: 100, growthMb: 40 },
      ]),
    ).toBeNull();
  });
});
