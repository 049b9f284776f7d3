import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { parseWav } from '../../../src/audio/wav.js';
import { bargeInStops, responseLatencies, speechSegments } from '../../../src/sim/call-metrics.js';
import { parseDtmfSpec } from '../../../src/sim/dtmf-spec.js';

describe('phone-side call metrics', () => {
  it('finds the two questions of call_two_questions (1.01–6.48 s and 10.80–12.73 s per the clip notes)', () => {
    const parsed = parseWav(
      readFileSync(path.join(import.meta.dirname, '../../fixtures/audio/call_two_questions.ulaw8k.wav')),
    );
    if (!parsed.ok) throw new Error(parsed.reason);
    const segments = speechSegments(parsed.value.data);
    expect(segments).toHaveLength(2);
    expect(segments[0]!.startMs).toBeGreaterThanOrEqual(980);
    expect(segments[0]!.startMs).toBeLessThanOrEqual(1_060);
    expect(segments[0]!.endMs).toBeGreaterThanOrEqual(6_420);
    expect(segments[0]!.endMs).toBeLessThanOrEqual(6_540);
    expect(segments[1]!.startMs).toBeGreaterThanOrEqual(10_760);
    expect(segments[1]!.endMs).toBeLessThanOrEqual(12_800);
  });

  it('latency is to the first assistant frame after each end of turn; barge-in stop is from the speech onset', () => {
    const turns = [
      { startMs: 1_000, endMs: 2_000 },
      { startMs: 5_000, endMs: 6_000 },
    ];
    expect(responseLatencies(turns, [100, 120, 2_450, 2_470, 9_000])).toEqual([
      { endOfTurnMs: 2_000, latencyMs: 450 },
      { endOfTurnMs: 6_000, latencyMs: 3_000 },
    ]);
    expect(responseLatencies(turns, [100])[1]).toEqual({ endOfTurnMs: 6_000, latencyMs: null });
    expect(bargeInStops(turns, [5_140])).toEqual([{ speechAtMs: 5_000, clearAtMs: 5_140, stopMs: 140 }]);
  });

  it('--dtmf: keys before an @ms share its time, 150 ms apart', () => {
    expect(parseDtmfSpec('1,2@5000,9@8000')).toEqual([
      { digit: '1', atMs: 5_000 },
      { digit: '2', atMs: 5_150 },
      { digit: '9', atMs: 8_000 },
    ]);
    expect(() => parseDtmfSpec('1,2')).toThrow(/need a time/);
    expect(() => parseDtmfSpec('x@100')).toThrow(/not a key/);
  });
});
