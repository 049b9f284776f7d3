/**
 * End of a response (`flush`) and barge-in (`reset`): nothing of a response is stuck in the
 * filter, and nothing of it leaks into the next one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  designKaiserLowpass,
  Downsampler24kTo8k,
  FILTER_CUTOFF_HZ,
  FILTER_KAISER_BETA,
  FILTER_TAPS,
  Upsampler8kTo24k,
} from '../../../src/audio/resampler.js';
import { concatInt16, FC_PARAMS, firstDifference, int16Stream } from '../../support/audio.js';

const H = designKaiserLowpass(FILTER_TAPS, FILTER_CUTOFF_HZ, FILTER_KAISER_BETA, 24000);
const withZeros = (x: Int16Array, zeros: number): Int16Array => concatInt16([x, new Int16Array(zeros)]);

describe('Upsampler8kTo24k.flush', () => {
  it('emits the 69-sample tail: process + flush equals the stream followed by 23 samples of silence', () => {
    fc.assert(
      fc.property(int16Stream(500), (x) => {
        const up = new Upsampler8kTo24k();
        const out = concatInt16([up.process(x), up.flush()]);
        expect(out).toHaveLength(3 * x.length + 69);
        expect(firstDifference(out, new Upsampler8kTo24k().process(withZeros(x, 23)))).toBe(-1);
      }),
      { ...FC_PARAMS, numRuns: 50 },
    );
  });

  it('every input sample is emitted: an impulse as the LAST sample comes out whole', () => {
    const x = new Int16Array(50);
    x[49] = 10000;
    const up = new Upsampler8kTo24k();
    const beforeFlush = up.process(x);
    const out = concatInt16([beforeFlush, up.flush()]);
    // the impulse's full response is 10000 · 3h, starting at output 3·49
    const response = Array.from(H, (h) => Math.round(30000 * h));
    expect(Array.from(out.subarray(147))).toEqual(response);
    // without flush, only its first 3 samples were out: the peak (tap 35) was stuck
    expect(beforeFlush.length - 147).toBe(3);
    expect(Math.max(...beforeFlush.subarray(147).map(Math.abs))).toBeLessThan(100);
  });

  it('leaves the upsampler as new', () => {
    const up = new Upsampler8kTo24k();
    up.process(new Int16Array(100).fill(20000));
    up.flush();
    const next = Int16Array.from({ length: 40 }, (_, i) => i * 100);
    expect(up.process(next)).toEqual(new Upsampler8kTo24k().process(next));
  });
});

describe('Downsampler24kTo8k.flush', () => {
  it('emits the tail: cumulative count ceil((N + 71) / 3), equal to the stream followed by 71 zeros', () => {
    fc.assert(
      fc.property(int16Stream(1500), (x) => {
        const down = new Downsampler24kTo8k();
        const out = concatInt16([down.process(x), down.flush()]);
        expect(out).toHaveLength(Math.ceil((x.length + 71) / 3));
        expect(firstDifference(out, new Downsampler24kTo8k().process(withZeros(x, 71)))).toBe(-1);
      }),
      { ...FC_PARAMS, numRuns: 50 },
    );
  });

  it.each([0, 1, 2])(
    'every input sample is emitted: an impulse as the last sample (phase %i) comes out whole',
    (phase) => {
      const n = 60 + phase;
      const x = new Int16Array(n);
      x[n - 1] = 30000;
      const down = new Downsampler24kTo8k();
      const out = concatInt16([down.process(x), down.flush()]);
      // outputs at input instants 3m ≥ n − 1 see the impulse through tap 3m − (n − 1)
      const expected: number[] = [];
      for (let m = Math.ceil((n - 1) / 3); 3 * m - (n - 1) < FILTER_TAPS; m++)
        expected.push(Math.round(30000 * H[3 * m - (n - 1)]!));
      expect(Array.from(out.subarray(Math.ceil((n - 1) / 3)))).toEqual(expected);
    },
  );

  it('leaves the downsampler as new, decimation phase included', () => {
    const down = new Downsampler24kTo8k();
    down.process(new Int16Array(301).fill(20000)); // 301: phase ends at 2
    down.flush();
    const next = Int16Array.from({ length: 100 }, (_, i) => i * 100);
    expect(down.process(next)).toEqual(new Downsampler24kTo8k().process(next));
  });
});

describe('reset', () => {
  it('up: after reset, no sample of the previous response leaks into the next', () => {
    fc.assert(
      fc.property(int16Stream(400), int16Stream(400), (previous, next) => {
        const up = new Upsampler8kTo24k();
        up.process(previous);
        up.reset();
        expect(firstDifference(up.process(next), new Upsampler8kTo24k().process(next))).toBe(-1);
      }),
      { ...FC_PARAMS, numRuns: 100 },
    );
  });

  it('down: after reset, no sample leaks and the phase restarts (count = ceil(n / 3))', () => {
    fc.assert(
      fc.property(int16Stream(1000), int16Stream(1000), (previous, next) => {
        const down = new Downsampler24kTo8k();
        down.process(previous);
        down.reset();
        const out = down.process(next);
        expect(out).toHaveLength(Math.ceil(next.length / 3));
        expect(firstDifference(out, new Downsampler24kTo8k().process(next))).toBe(-1);
      }),
      { ...FC_PARAMS, numRuns: 100 },
    );
  });

  it('without reset the previous response WOULD leak (the test above can fail)', () => {
    const loud = new Int16Array(300).fill(30000);
    const quiet = new Int16Array(30);
    const up = new Upsampler8kTo24k();
    up.process(loud);
    expect(Math.max(...up.process(quiet))).toBeGreaterThan(10000);
    const down = new Downsampler24kTo8k();
    down.process(loud);
    expect(Math.max(...down.process(new Int16Array(90)))).toBeGreaterThan(10000);
  });
});
