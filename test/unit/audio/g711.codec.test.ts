import alawmulaw from 'alawmulaw';
import { describe, expect, it } from 'vitest';
import { decodeMulaw, encodeMulaw, MULAW_SILENCE } from '../../../src/audio/g711.js';
import { fitTones } from '../../../src/audio/measure.js';
import { renderTones, sineAmplitude, toInt16Samples } from '../../../src/audio/signals.js';

const code = (sample: number): number => alawmulaw.mulaw.encodeSample(sample) & 0xff;

describe('decodeMulaw', () => {
  it('decodes all 256 codes exactly like alawmulaw', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    // `| 0`: alawmulaw returns −0 for 0x7F; an Int16Array stores +0
    expect(Array.from(decodeMulaw(all))).toEqual(Array.from(all, (c) => alawmulaw.mulaw.decodeSample(c) | 0));
  });

  it.each([
    [0xff, 0],
    [0x7f, 0],
    [0x80, 32124],
    [0x00, -32124],
  ])('code 0x%s decodes to %i (PROTOCOLS §3.1)', (mulaw, pcm) => {
    expect(decodeMulaw(new Uint8Array([mulaw]))[0]).toBe(pcm);
  });

  it('MULAW_SILENCE is +0', () => {
    expect(decodeMulaw(new Uint8Array([MULAW_SILENCE]))[0]).toBe(0);
  });

  it('writes into a longer out array and returns its prefix view', () => {
    const out = new Int16Array(10).fill(7);
    const result = decodeMulaw(new Uint8Array([0x80, 0x00]), out);
    expect(result.buffer).toBe(out.buffer);
    expect(Array.from(result)).toEqual([32124, -32124]);
    expect(out[2]).toBe(7);
  });

  it('rejects an out array that is too short', () => {
    expect(() => decodeMulaw(new Uint8Array(3), new Int16Array(2))).toThrow(RangeError);
  });
});

describe('encodeMulaw', () => {
  it('encodes every int16 exactly like alawmulaw', () => {
    const all = new Int16Array(65536).map((_, i) => i - 32768);
    const encoded = encodeMulaw(all);
    let mismatches = 0;
    for (let i = 0; i < all.length; i++) if (encoded[i] !== code(all[i]!)) mismatches++;
    expect(mismatches).toBe(0);
  });

  it.each([
    ['32768 (alawmulaw alone gives code 0 = −32124)', 32768, 32767],
    ['40000', 40000, 32767],
    ['+Infinity', Infinity, 32767],
    ['−32769', -32769, -32768],
    ['−40000 (alawmulaw alone gives +25980)', -40000, -32768],
    ['−Infinity', -Infinity, -32768],
    ['NaN', NaN, 0],
  ])('clamps %s before encoding', (_label, input, clampedTo) => {
    expect(encodeMulaw(new Float64Array([input]))[0]).toBe(code(clampedTo));
    expect(encodeMulaw(new Float32Array([input]))[0]).toBe(code(clampedTo));
  });

  it('rounds floats to the nearest integer before encoding', () => {
    // find decision thresholds: x and x + 1 encode differently
    const thresholds: number[] = [];
    for (let x = -32768; x < 32767; x++) if (code(x) !== code(x + 1)) thresholds.push(x);
    expect(thresholds.length).toBeGreaterThan(200);
    const below = new Float64Array(thresholds.map((x) => x + 0.49));
    const above = new Float64Array(thresholds.map((x) => x + 0.5));
    expect(Array.from(encodeMulaw(below))).toEqual(thresholds.map((x) => code(x)));
    expect(Array.from(encodeMulaw(above))).toEqual(thresholds.map((x) => code(x + 1)));
  });

  it('writes into a longer out array and returns its prefix view; rejects a short one', () => {
    const out = new Uint8Array(4).fill(1);
    const result = encodeMulaw(new Int16Array([0, 0]), out);
    expect(result.buffer).toBe(out.buffer);
    expect(Array.from(out)).toEqual([MULAW_SILENCE, MULAW_SILENCE, 1, 1]);
    expect(() => encodeMulaw(new Int16Array(3), new Uint8Array(2))).toThrow(RangeError);
  });
});

describe('μ-law round trip', () => {
  const roundTripSnrDb = (frequencyHz: number, levelDbfs: number): number => {
    const tone = [{ frequencyHz, amplitude: sineAmplitude(levelDbfs), phaseRad: 0.3 }];
    const pcm = toInt16Samples(renderTones(tone, 8000, 8000));
    const fit = fitTones(tone, decodeMulaw(encodeMulaw(pcm)), 8000, { delaySearchSeconds: 0.0001 });
    // the codec adds no delay (quantisation noise moves the phase estimate by ~1 µs at −40 dBFS)
    expect(Math.abs(fit.delaySeconds)).toBeLessThan(5e-6);
    return fit.snrDb;
  };

  it('a −20 dBFS 1 kHz tone comes back with ≥ 35 dB SNR', () => {
    // measured 44.1 dB: at 8 kHz a 1 kHz tone repeats every 8 samples, so its quantisation
    // error is a few harmonics rather than noise; the 1020 Hz cases below are the fair SQNR
    expect(roundTripSnrDb(1000, -20)).toBeGreaterThanOrEqual(35);
  });

  // G.711 SQNR (dsp.md §1, 1020 Hz): 37.7 / 37.2 / 38.3 / 34.9 / 35.3 dB at −3 … −40 dBFS
  it.each([
    [-3, 36],
    [-10, 36],
    [-20, 36],
    [-30, 34],
    [-40, 34],
  ])('a 1020 Hz tone at %i dBFS comes back with ≥ %i dB SNR', (levelDbfs, floorDb) => {
    expect(roundTripSnrDb(1020, levelDbfs)).toBeGreaterThanOrEqual(floorDb);
  });
});
