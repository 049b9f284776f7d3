/**
 * prom-client spells NaN "Nan" (its formatter), which the exposition format does not: a
 * scrape that follows another within the event-loop monitor's 10 ms resolution has an empty
 * lag histogram, so `nodejs_eventloop_lag_mean_seconds` and friends are NaN.
 */
import { describe, expect, it } from 'vitest';

import { BridgeMetrics } from '../../../src/http/metrics.js';

describe('BridgeMetrics.render', () => {
  it('spells NaN as the Prometheus text format does, on back-to-back scrapes', async () => {
    const metrics = new BridgeMetrics();
    await metrics.render();
    const text = await metrics.render();
    expect(text).not.toMatch(/ Nan$/m);
    const lagMean = text.split('\n').find((line) => line.startsWith('nodejs_eventloop_lag_mean_seconds '));
    expect(lagMean).toMatch(/^nodejs_eventloop_lag_mean_seconds (?:NaN|\d+(?:\.\d+)?(?:e-?\d+)?)$/);
  });
});
