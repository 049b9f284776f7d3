import { describe, expect, it } from 'vitest';
import { fitTones, rmsDbfs, sineFit, snrDb } from '../../../src/audio/measure.js';
import {
  highBandTones,
  renderTones,
  seededRandom,
  sineAmplitude,
  speechShapedTones,
  toInt16Samples,
} from '../../../src/audio/signals.js';

/** Gaussian noise with a given RMS (Box–Muller on the seeded PRNG). */
function noise(length: number, rms: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const u = 1 - random();
    out[i] = rms * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  }
  return out;
}

describe('snrDb', () => {
  const speech = speechShapedTones(11);
  const reference = renderTones(speech, 8000, 8000);

  it('finds the lag and gain, and reports the SNR of the added noise', () => {
    const lag = 7;
    const refRms = Math.sqrt(reference.reduce((s, v) => s + v * v, 0) / reference.length);
    const added = noise(reference.length, refRms * 0.5 * 10 ** (-30 / 20), 3); // 30 dB below 0.5 × ref
    const test = new Float64Array(reference.length);
    for (let i = lag; i < test.length; i++) test[i] = 0.5 * reference[i - lag]! + added[i]!;
    const result = snrDb(reference, test, { maxLagSamples: 20 });
    expect(result.lagSamples).toBe(lag);
    expect(result.gain).toBeCloseTo(0.5, 3);
    expect(result.snrDb).toBeGreaterThan(29.5);
    expect(result.snrDb).toBeLessThan(30.5);
  });

  it('finds negative lags (test early)', () => {
    const test = reference.subarray(5);
    expect(snrDb(reference, test, { maxLagSamples: 10 })).toEqual({ snrDb: Infinity, lagSamples: -5, gain: 1 });
  });

  it('is +Infinity for identical signals and −Infinity against a silent reference', () => {
    expect(snrDb(reference, reference).snrDb).toBe(Infinity);
    expect(snrDb(new Float64Array(100), reference).snrDb).toBe(-Infinity);
  });

  it('refines a fractional lag of band-limited audio', () => {
    const delayed = renderTones(speech, 8000, 8000, { delaySeconds: 3.3 / 8000 });
    const coarse = snrDb(reference, delayed, { maxLagSamples: 10 });
    const fine = snrDb(reference, delayed, { maxLagSamples: 10, fractionalLag: true });
    expect(coarse.lagSamples).toBe(3);
    expect(coarse.snrDb).toBeLessThan(20);
    expect(fine.lagSamples).toBeCloseTo(3.3, 3);
    expect(fine.snrDb).toBeGreaterThan(70);
  });
});

describe('rmsDbfs', () => {
  it.each([
    [0, 0],
    [-20, -20],
    [-6, -6],
  ])('a %i dBFS sine measures %i dBFS (AES17: full-scale sine = 0 dBFS)', (level, expected) => {
    const tone = [{ frequencyHz: 1000, amplitude: sineAmplitude(level), phaseRad: 0 }];
    expect(rmsDbfs(renderTones(tone, 8000, 8000))).toBeCloseTo(expected, 6);
  });

  it('is −Infinity for silence and empty input', () => {
    expect(rmsDbfs(new Int16Array(10))).toBe(-Infinity);
    expect(rmsDbfs([])).toBe(-Infinity);
  });
});

describe('signal generators', () => {
  it('speech-shaped multitone: 120 distinct tones in 300–3400 Hz at −20 dBFS, deterministic per seed', () => {
    const tones = speechShapedTones(5);
    expect(tones).toHaveLength(120);
    expect(new Set(tones.map((t) => t.frequencyHz)).size).toBe(120);
    expect(Math.min(...tones.map((t) => t.frequencyHz))).toBeGreaterThanOrEqual(300);
    expect(Math.max(...tones.map((t) => t.frequencyHz))).toBeLessThanOrEqual(3400);
    expect(rmsDbfs(renderTones(tones, 24000, 48000))).toBeCloseTo(-20, 0);
    expect(speechShapedTones(5)).toEqual(tones);
    expect(speechShapedTones(6)).not.toEqual(tones);
  });

  it('high-band tones lie in 4.6–11 kHz, 6 dB below speech', () => {
    const tones = highBandTones(5);
    expect(Math.min(...tones.map((t) => t.frequencyHz))).toBeGreaterThanOrEqual(4600);
    expect(Math.max(...tones.map((t) => t.frequencyHz))).toBeLessThanOrEqual(11000);
    expect(rmsDbfs(renderTones(tones, 24000, 48000))).toBeCloseTo(-26, 0);
  });

  it('renders long signals without phasor drift', () => {
    const tone = [{ frequencyHz: 997, amplitude: 10000, phaseRad: 1 }];
    const start = 10 * 60 * 24000;
    const rendered = renderTones(tone, 24000, 100, { startSample: start });
    for (let n = 0; n < 100; n++) {
      expect(rendered[n]).toBeCloseTo(10000 * Math.sin((2 * Math.PI * 997 * (start + n)) / 24000 + 1), 5);
    }
  });
});

describe('fitTones and sineFit', () => {
  it('recover a known delay, gain and SNR', () => {
    const speech = speechShapedTones(9);
    const delaySeconds = 0.00123;
    const test = toInt16Samples(renderTones(speech, 24000, 24000, { delaySeconds }).map((v) => 0.8 * v));
    const fit = fitTones(speech, test, 24000, { delayGuessSeconds: 0.001 });
    expect(fit.delaySeconds).toBeCloseTo(delaySeconds, 8);
    expect(fit.gain).toBeCloseTo(0.8, 4);
    // only int16 rounding is left: RMS 0.29 LSB against −22 dBFS
    expect(fit.snrDb).toBeGreaterThan(75);
  });

  it('sineFit separates integer-Hz tones over a 1 s window', () => {
    const tones = [
      { frequencyHz: 1000, amplitude: 5000, phaseRad: 0.2 },
      { frequencyHz: 3000, amplitude: 50, phaseRad: 1 },
    ];
    const signal = renderTones(tones, 8000, 8000);
    const fit = sineFit(signal, 1000, 8000);
    expect(fit.amplitude).toBeCloseTo(5000, 6);
    expect(fit.phaseRad).toBeCloseTo(0.2 - Math.PI / 2 + Math.PI / 2, 6);
    expect(fit.residualRms).toBeCloseTo(50 / Math.SQRT2, 6);
  });
});
