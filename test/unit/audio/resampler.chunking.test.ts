/**
 * Streaming invariance: any chunking gives the same samples, bit for bit, as one call over
 * the whole stream, and the sample counts are exact at every point, for 10 minutes of audio.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitTones } from '../../../src/audio/measure.js';
import {
  designKaiserLowpass,
  Downsampler24kTo8k,
  FILTER_CUTOFF_HZ,
  FILTER_KAISER_BETA,
  FILTER_TAPS,
  RESAMPLER_DELAY_MS,
  Upsampler8kTo24k,
} from '../../../src/audio/resampler.js';
import { renderTones, seededRandom, toInt16Samples } from '../../../src/audio/signals.js';
import { chunk, chunkSizes, concatInt16, FC_PARAMS, firstDifference, int16Stream } from '../../support/audio.js';

const H = designKaiserLowpass(FILTER_TAPS, FILTER_CUTOFF_HZ, FILTER_KAISER_BETA, 24000);

/** Textbook form: zero-stuff, convolve with 3·h, no polyphase, no folding. */
function upsampleDirect(x: Int16Array): Float64Array {
  const y = new Float64Array(x.length * 3);
  for (let m = 0; m < y.length; m++) {
    let acc = 0;
    for (let j = 0; j < H.length; j++) {
      const u = m - j;
      if (u >= 0 && u % 3 === 0) acc += 3 * H[j]! * x[u / 3]!;
    }
    y[m] = acc;
  }
  return y;
}

/** Textbook form: convolve with h, keep every 3rd output starting at 0. */
function downsampleDirect(x: Int16Array): Float64Array {
  const y = new Float64Array(Math.ceil(x.length / 3));
  for (let m = 0; m < y.length; m++) {
    let acc = 0;
    for (let j = 0; j < H.length; j++) {
      const i = 3 * m - j;
      if (i >= 0) acc += H[j]! * x[i]!;
    }
    y[m] = acc;
  }
  return y;
}

function maxAbsDiffFromRounded(actual: Int16Array, exact: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < exact.length; i++) {
    const expected = Math.max(-32768, Math.min(32767, Math.round(exact[i]!)));
    worst = Math.max(worst, Math.abs(actual[i]! - expected));
  }
  return worst;
}

describe('Upsampler8kTo24k', () => {
  it('equals the textbook zero-stuff-and-filter form (within 1 LSB of rounding)', () => {
    fc.assert(
      fc.property(int16Stream(600), (x) => {
        const y = new Upsampler8kTo24k().process(x);
        expect(y).toHaveLength(3 * x.length);
        expect(maxAbsDiffFromRounded(y, upsampleDirect(x))).toBeLessThanOrEqual(1);
      }),
      { ...FC_PARAMS, numRuns: 50 },
    );
  });

  it('any chunking gives bit-identical output and exactly 3 samples per input sample per call', () => {
    fc.assert(
      fc.property(int16Stream(3000), chunkSizes(3000), (x, sizes) => {
        const whole = new Upsampler8kTo24k().process(x);
        const up = new Upsampler8kTo24k();
        const chunks = chunk(x, sizes);
        const parts = chunks.map((c) => up.process(c));
        expect(parts.findIndex((p, i) => p.length !== 3 * chunks[i]!.length)).toBe(-1);
        expect(firstDifference(concatInt16(parts), whole)).toBe(-1);
      }),
      FC_PARAMS,
    );
  });
});

describe('Downsampler24kTo8k', () => {
  it('equals the textbook filter-then-decimate form (within 1 LSB of rounding)', () => {
    fc.assert(
      fc.property(int16Stream(1800), (x) => {
        const y = new Downsampler24kTo8k().process(x);
        expect(y).toHaveLength(Math.ceil(x.length / 3));
        expect(maxAbsDiffFromRounded(y, downsampleDirect(x))).toBeLessThanOrEqual(1);
      }),
      { ...FC_PARAMS, numRuns: 50 },
    );
  });

  it('any chunking gives bit-identical output; cumulative count is ceil(totalIn / 3) after every call', () => {
    fc.assert(
      fc.property(int16Stream(9000), chunkSizes(9000), (x, sizes) => {
        const whole = new Downsampler24kTo8k().process(x);
        const down = new Downsampler24kTo8k();
        let totalIn = 0;
        let totalOut = 0;
        let countErrors = 0;
        const parts = chunk(x, sizes).map((c) => {
          const announced = down.outputLength(c.length);
          const out = down.process(c);
          totalIn += c.length;
          totalOut += out.length;
          if (announced !== out.length || totalOut !== Math.ceil(totalIn / 3)) countErrors++;
          return out;
        });
        expect(countErrors).toBe(0);
        expect(firstDifference(concatInt16(parts), whole)).toBe(-1);
      }),
      FC_PARAMS,
    );
  });
});

describe('no drift over 10 minutes of audio', () => {
  // three tones: a one-sample slip anywhere would move the fitted delay by 42 µs (24 kHz) or 125 µs (8 kHz)
  const tones = [
    { frequencyHz: 440, amplitude: 6000, phaseRad: 0.1 },
    { frequencyHz: 1330, amplitude: 5000, phaseRad: 1.2 },
    { frequencyHz: 2970, amplitude: 4000, phaseRad: 2.3 },
  ];
  const minutes = 10;
  const delayS = RESAMPLER_DELAY_MS / 1000;

  it('up, 20 ms frames: exactly 3 × input, and the last second still sits at the nominal delay', () => {
    const inputLength = minutes * 60 * 8000;
    const x = toInt16Samples(renderTones(tones, 8000, inputLength));
    const up = new Upsampler8kTo24k();
    const output = new Int16Array(inputLength * 3);
    let written = 0;
    for (let i = 0; i < inputLength; i += 160) {
      written += up.process(x.subarray(i, i + 160), output.subarray(written)).length;
    }
    expect(written).toBe(3 * inputLength);
    const fit = fitTones(tones, output, 24000, {
      start: output.length - 24000,
      length: 24000,
      delayGuessSeconds: delayS,
      delaySearchSeconds: 0.0001,
    });
    expect(Math.abs(fit.delaySeconds - delayS)).toBeLessThan(1e-6);
    expect(fit.snrDb).toBeGreaterThan(60);
  });

  it('down, random 50–400 ms deltas of any parity: ceil(totalIn / 3) and no timing slip', () => {
    const inputLength = minutes * 60 * 24000;
    const x = toInt16Samples(renderTones(tones, 24000, inputLength));
    const random = seededRandom(99);
    const down = new Downsampler24kTo8k();
    const output = new Int16Array(Math.ceil(inputLength / 3));
    let totalIn = 0;
    let written = 0;
    let deltas = 0;
    while (totalIn < inputLength) {
      const size = Math.min(inputLength - totalIn, 1200 + Math.floor(random() * 8401));
      written += down.process(x.subarray(totalIn, totalIn + size), output.subarray(written)).length;
      totalIn += size;
      deltas++;
      if (written !== Math.ceil(totalIn / 3)) expect(written).toBe(Math.ceil(totalIn / 3));
    }
    expect(deltas).toBeGreaterThan(2500);
    expect(written).toBe(inputLength / 3);
    const fit = fitTones(tones, output, 8000, {
      start: output.length - 8000,
      length: 8000,
      delayGuessSeconds: delayS,
      delaySearchSeconds: 0.0001,
    });
    expect(Math.abs(fit.delaySeconds - delayS)).toBeLessThan(1e-6);
    expect(fit.snrDb).toBeGreaterThan(60);
  });
});
