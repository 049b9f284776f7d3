/**
 * Resampler quality against analytic ideals (dsp.md "Method"), through the int16 path and
 * chunked as a bridge chunks: 20 ms frames up, random 50–400 ms deltas down.
 */
import { describe, expect, it } from 'vitest';
import { fitTones, sineFit } from '../../../src/audio/measure.js';
import {
  designKaiserLowpass,
  Downsampler24kTo8k,
  FILTER_CUTOFF_HZ,
  FILTER_KAISER_BETA,
  FILTER_TAPS,
  RESAMPLER_DELAY_MS,
  Upsampler8kTo24k,
} from '../../../src/audio/resampler.js';
import {
  highBandTones,
  renderTones,
  seededRandom,
  speechShapedTones,
  toInt16Samples,
  type Tone,
} from '../../../src/audio/signals.js';
import { chunk, concatInt16 } from '../../support/audio.js';

const DELAY_S = RESAMPLER_DELAY_MS / 1000;

function upsample(pcm8k: Int16Array): Int16Array {
  const up = new Upsampler8kTo24k();
  return concatInt16(chunk(pcm8k, [160]).map((c) => up.process(c)));
}

/** Random model-delta sizes of 50–400 ms at 24 kHz (1200–9600 samples, mostly not multiples of 3). */
function deltaSizes(seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: 64 }, () => 1200 + Math.floor(random() * 8401));
}

function downsample(pcm24k: Int16Array, seed = 1): Int16Array {
  const down = new Downsampler24kTo8k();
  return concatInt16(chunk(pcm24k, deltaSizes(seed)).map((c) => down.process(c)));
}

const tone = (frequencyHz: number, amplitude = 16384): Tone[] => [{ frequencyHz, amplitude, phaseRad: 0.5 }];
const db = (ratio: number): number => 20 * Math.log10(ratio);

describe('prototype filter', () => {
  it('is linear-phase (symmetric), unity gain at DC, with the documented constants', () => {
    const h = designKaiserLowpass(FILTER_TAPS, FILTER_CUTOFF_HZ, FILTER_KAISER_BETA, 24000);
    expect(h).toHaveLength(72);
    for (let k = 0; k < h.length; k++) expect(h[k]).toBe(h[h.length - 1 - k]);
    expect(h.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
  });

  it('group delay is (taps − 1) / 2 samples at 24 kHz, ≤ 2 ms', () => {
    expect(RESAMPLER_DELAY_MS).toBeCloseTo((35.5 / 24000) * 1000, 12);
    expect(RESAMPLER_DELAY_MS).toBeLessThanOrEqual(2);
  });
});

describe('Downsampler24kTo8k: anti-aliasing', () => {
  it.each([5000, 7000])('a %i Hz tone at 24 kHz comes out ≥ 60 dB down at 8 kHz', (frequencyHz) => {
    const input = toInt16Samples(renderTones(tone(frequencyHz), 24000, 28800));
    const output = downsample(input);
    // everything in the output is alias (plus int16 rounding): take its total RMS
    let energy = 0;
    for (let n = 800; n < 8800; n++) energy += output[n]! * output[n]!;
    const rejectionDb = -db(Math.sqrt(energy / 8000) / (16384 / Math.SQRT2));
    expect(rejectionDb).toBeGreaterThanOrEqual(60);
  });

  it('every tone from 4.6 to 11.9 kHz (100 Hz steps) comes out ≥ 60 dB down', () => {
    let worstDb = Infinity;
    for (let f = 4600; f <= 11900; f += 100) {
      const output = new Downsampler24kTo8k().process(toInt16Samples(renderTones(tone(f), 24000, 14400)));
      let energy = 0;
      for (let n = 400; n < 4400; n++) energy += output[n]! * output[n]!;
      worstDb = Math.min(worstDb, -db(Math.sqrt(energy / 4000) / (16384 / Math.SQRT2)));
    }
    expect(worstDb).toBeGreaterThanOrEqual(60);
  });
});

describe('Upsampler8kTo24k: image rejection', () => {
  it('for tones from 300 to 3400 Hz, images and all other products are ≥ 60 dB below the tone', () => {
    let worstDb = Infinity;
    for (let f = 300; f <= 3400; f += 100) {
      const output = upsample(toInt16Samples(renderTones(tone(f), 8000, 9600)));
      const fit = sineFit(output, f, 24000, 2400, 24000);
      worstDb = Math.min(worstDb, -db(fit.residualRms / (fit.amplitude / Math.SQRT2)));
    }
    expect(worstDb).toBeGreaterThanOrEqual(60);
  });
});

describe('passband 300–3400 Hz', () => {
  const frequencies = Array.from({ length: 32 }, (_, i) => 300 + 100 * i);

  it('up: every tone within ±0.2 dB', () => {
    const gainsDb = frequencies.map((f) => {
      const output = upsample(toInt16Samples(renderTones(tone(f), 8000, 9600)));
      return db(sineFit(output, f, 24000, 2400, 24000).amplitude / 16384);
    });
    expect(Math.max(...gainsDb.map(Math.abs))).toBeLessThanOrEqual(0.2);
  });

  it('down: every tone within ±0.2 dB', () => {
    const gainsDb = frequencies.map((f) => {
      const output = downsample(toInt16Samples(renderTones(tone(f), 24000, 28800)));
      return db(sineFit(output, f, 8000, 800, 8000).amplitude / 16384);
    });
    expect(Math.max(...gainsDb.map(Math.abs))).toBeLessThanOrEqual(0.2);
  });
});

describe('speech SNR against the analytic ideal, and group delay', () => {
  const speech = speechShapedTones(1);

  it('up (20 ms frames): ≥ 60 dB, delay = RESAMPLER_DELAY_MS', () => {
    const output = upsample(toInt16Samples(renderTones(speech, 8000, 16000)));
    const fit = fitTones(speech, output, 24000, { start: 2400, length: 43200, delayGuessSeconds: DELAY_S });
    expect(fit.snrDb).toBeGreaterThanOrEqual(60);
    expect(Math.abs(fit.delaySeconds - DELAY_S)).toBeLessThan(1e-7);
    expect(fit.delaySeconds * 1000).toBeLessThanOrEqual(2);
  });

  it(
    'down (random deltas, with 4.6–11 kHz content that must not alias in): ' + '≥ 60 dB, delay = RESAMPLER_DELAY_MS',
    () => {
      const input = toInt16Samples(renderTones([...speech, ...highBandTones(2)], 24000, 48000));
      const output = downsample(input, 7);
      expect(output).toHaveLength(16000);
      // the ideal is the in-band part only, so aliased high-band content counts as error
      const fit = fitTones(speech, output, 8000, { start: 800, length: 14400, delayGuessSeconds: DELAY_S });
      expect(fit.snrDb).toBeGreaterThanOrEqual(60);
      expect(Math.abs(fit.delaySeconds - DELAY_S)).toBeLessThan(1e-7);
    },
  );
});
