/**
 * The hand-rolled frame-latency histogram renders exactly what prom-client's own Histogram
 * renders for the same observations (same buckets, same label order, same sums).
 */
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import { FrameLatencyHistogram } from '../../../src/http/metrics.js';

describe('FrameLatencyHistogram', () => {
  it('renders the same series as a prom-client Histogram fed the same values', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new FrameLatencyHistogram(ours);
    const reference = new Histogram({
      name: 'bridge_frame_latency_seconds',
      help: fast.help,
      labelNames: ['direction'] as const,
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05],
      registers: [theirs],
    });
    // on a bound, between bounds, beyond the last bound, zero; both directions, uneven counts
    const samples: ['caller_to_model' | 'model_to_caller', number][] = [
      ['caller_to_model', 0],
      ['caller_to_model', 0.00005],
      ['caller_to_model', 0.00007],
      ['caller_to_model', 0.01],
      ['caller_to_model', 0.2],
      ['model_to_caller', 0.0009],
      ['model_to_caller', 0.0009],
      ['model_to_caller', 0.049],
    ];
    for (const [direction, s] of samples) {
      fast.observe(direction, s);
      reference.observe({ direction }, s);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('renders nothing but its header before the first frame, like prom-client', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new FrameLatencyHistogram(ours);
    new Histogram({
      name: 'bridge_frame_latency_seconds',
      help: fast.help,
      labelNames: ['direction'] as const,
      registers: [theirs],
    });
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
