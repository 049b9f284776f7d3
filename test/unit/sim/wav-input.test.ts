import { readFileSync } from 'node:fs';
import path from 'node:path';

import alawmulaw from 'alawmulaw';
import { describe, expect, it } from 'vitest';

import { decodeMulaw } from '../../../src/audio/g711.js';
import { sineFit } from '../../../src/audio/measure.js';
import { readCallerWav } from '../../../src/sim/wav-input.js';

/** A RIFF/WAVE file with the given fmt fields around `data`. */
function wav(format: number, channels: number, rate: number, bits: number, data: Buffer, extensible = false): Buffer {
  const fmtSize = extensible ? 40 : 16;
  const fmt = Buffer.alloc(fmtSize);
  fmt.writeUInt16LE(extensible ? 0xfffe : format, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(rate, 4);
  fmt.writeUInt32LE((rate * channels * bits) / 8, 8);
  fmt.writeUInt16LE((channels * bits) / 8, 12);
  fmt.writeUInt16LE(bits, 14);
  if (extensible) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(format, 24); // SubFormat GUID starts with the format code
  }
  const head = Buffer.alloc(12);
  head.write('RIFF', 0);
  head.writeUInt32LE(4 + 8 + fmtSize + 8 + data.length, 4);
  head.write('WAVE', 8);
  const fmtHead = Buffer.alloc(8);
  fmtHead.write('fmt ', 0);
  fmtHead.writeUInt32LE(fmtSize, 4);
  const dataHead = Buffer.alloc(8);
  dataHead.write('data', 0);
  dataHead.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, fmtHead, fmt, dataHead, data]);
}

/** A 1 kHz tone at −6 dBFS, `ms` long, as floats. */
function tone(rate: number, ms: number): Float64Array {
  return Float64Array.from(
    { length: Math.round((rate * ms) / 1000) },
    (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / rate),
  );
}

/** The 1 kHz tone survives the conversion: amplitude ≈ 0.5 full scale, little else. */
function expectTone(mulaw: Buffer): void {
  const pcm = decodeMulaw(mulaw);
  const middle = Array.from(pcm.subarray(800, pcm.length - 800), (s) => s / 32768);
  const fit = sineFit(middle, 1000, 8000);
  expect(fit.amplitude).toBeGreaterThan(0.45);
  expect(fit.amplitude).toBeLessThan(0.55);
  // what is not the tone (μ-law quantisation, resampling error) is > 30 dB below it
  expect(20 * Math.log10(fit.residualRms / (fit.amplitude / Math.SQRT2))).toBeLessThan(-30);
}

describe('readCallerWav', () => {
  it('passes μ-law 8 kHz mono through byte for byte', () => {
    const file = readFileSync(path.join(import.meta.dirname, '../../fixtures/audio/caller_hours.ulaw8k.wav'));
    const read = readCallerWav(file);
    if (!read.ok) throw new Error(read.reason);
    expect(read.value.source).toBe('μ-law 8-bit 8000 Hz mono');
    expect(read.value.mulaw8k.equals(file.subarray(file.length - read.value.mulaw8k.length))).toBe(true);
  });

  it('converts 16-bit 44.1 kHz stereo, 24-bit 48 kHz, float 16 kHz, 8-bit unsigned and A-law to μ-law 8 kHz', () => {
    const stereo = tone(44_100, 500);
    const pcm16 = Buffer.alloc(stereo.length * 4);
    stereo.forEach((s, i) => {
      pcm16.writeInt16LE(Math.round(s * 32767), i * 4);
      pcm16.writeInt16LE(Math.round(s * 32767), i * 4 + 2);
    });
    const t48 = tone(48_000, 500);
    const pcm24 = Buffer.alloc(t48.length * 3);
    t48.forEach((s, i) => pcm24.writeIntLE(Math.round(s * 8388607), i * 3, 3));
    const t16 = tone(16_000, 500);
    const f32 = Buffer.alloc(t16.length * 4);
    t16.forEach((s, i) => f32.writeFloatLE(s, i * 4));
    const t8 = tone(8_000, 500);
    const u8 = Buffer.from(Array.from(t8, (s) => Math.round(s * 127) + 128));
    const alaw = Buffer.from(alawmulaw.alaw.encode(Int16Array.from(t8, (s) => Math.round(s * 32767))));
    const cases: [Buffer, string][] = [
      [wav(1, 2, 44_100, 16, pcm16), 'PCM 16-bit 44100 Hz stereo'],
      [wav(1, 1, 48_000, 24, pcm24, true), 'PCM 24-bit 48000 Hz mono'],
      [wav(3, 1, 16_000, 32, f32), 'float 32-bit 16000 Hz mono'],
      [wav(1, 1, 8_000, 8, u8), 'PCM 8-bit 8000 Hz mono'],
      [wav(6, 1, 8_000, 8, alaw), 'A-law 8-bit 8000 Hz mono'],
    ];
    for (const [file, source] of cases) {
      const read = readCallerWav(file);
      if (!read.ok) throw new Error(read.reason);
      expect(read.value.source).toBe(source);
      expect(read.value.durationMs).toBeCloseTo(500, -1);
      expectTone(read.value.mulaw8k);
    }
  });

  it('refuses what it cannot read, with a reason', () => {
    expect(readCallerWav(Buffer.from('not a wav at all'))).toEqual({ ok: false, reason: 'not a RIFF/WAVE file' });
    const odd = readCallerWav(wav(2, 1, 8_000, 4, Buffer.alloc(100)));
    expect(odd.ok).toBe(false);
  });
});
