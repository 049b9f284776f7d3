/**
 * Both directions, both model formats: any chunking of the input, including 1-byte deltas
 * and odd splits of a PCM16 sample, gives the same bytes as one push of the whole stream.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TWILIO_FRAME_BYTES } from '../../../src/audio/framer.js';
import { MULAW_SILENCE } from '../../../src/audio/g711.js';
import {
  createCallerToModel,
  createModelToCaller,
  pcm16FromBytes,
  pcm16ToBytes,
} from '../../../src/audio/transcoder.js';
import { seededRandom } from '../../../src/audio/signals.js';
import { byteStream, chunk, chunkSizes, concatBytes, FC_PARAMS, int16Stream } from '../../support/audio.js';

describe('caller → model, pcm16', () => {
  it('any chunking gives identical PCM16 LE 24 kHz bytes, exactly 6 bytes per μ-law byte per push', () => {
    fc.assert(
      fc.property(byteStream(3000), chunkSizes(3000), (mulaw, sizes) => {
        const whole = createCallerToModel('pcm16').push(mulaw);
        const stream = createCallerToModel('pcm16');
        const chunks = chunk(mulaw, sizes);
        const parts = chunks.map((c) => stream.push(c));
        expect(parts.findIndex((p, i) => p.length !== 6 * chunks[i]!.length)).toBe(-1);
        expect(concatBytes(parts).equals(whole)).toBe(true);
        expect(whole).toHaveLength(6 * mulaw.length);
      }),
      FC_PARAMS,
    );
  });

  it('returns fresh Buffers that later pushes do not overwrite', () => {
    const stream = createCallerToModel('pcm16');
    const first = stream.push(new Uint8Array(160).fill(0x80));
    const copy = Buffer.from(first);
    stream.push(new Uint8Array(160).fill(0x00));
    expect(first.equals(copy)).toBe(true);
  });
});

describe('model → caller, pcm16', () => {
  it('any split of the PCM16 bytes (odd, 1-byte) gives identical 160-byte μ-law frames', () => {
    fc.assert(
      fc.property(int16Stream(12000), chunkSizes(6000), (pcm24k, sizes) => {
        const bytes = pcm16ToBytes(pcm24k);
        const wholeStream = createModelToCaller('pcm16');
        const whole = [...wholeStream.push(bytes), ...wholeStream.flush()];
        const stream = createModelToCaller('pcm16');
        const frames = chunk(bytes, sizes).flatMap((c) => stream.push(c));
        frames.push(...stream.flush());
        expect(frames.every((f) => f.length === TWILIO_FRAME_BYTES)).toBe(true);
        expect(concatBytes(frames).equals(concatBytes(whole))).toBe(true);
      }),
      FC_PARAMS,
    );
  });

  it('carries the odd byte: a sample split across two deltas decodes as one sample', () => {
    const pcm = Int16Array.from({ length: 480 }, (_, i) => Math.round(8000 * Math.sin(i / 5)));
    const bytes = pcm16ToBytes(pcm);
    const together = createModelToCaller('pcm16').push(bytes);
    const split = createModelToCaller('pcm16');
    const frames = [
      ...split.push(bytes.subarray(0, 1)),
      ...split.push(bytes.subarray(1, 2)),
      ...split.push(bytes.subarray(2)),
    ];
    expect(together).toHaveLength(1);
    expect(concatBytes(frames).equals(concatBytes(together))).toBe(true);
  });

  it('sample counts are exact: after N samples, sent + pending = ceil(N / 3) μ-law bytes', () => {
    fc.assert(
      fc.property(int16Stream(20000), chunkSizes(8000), (pcm24k, sizes) => {
        const bytes = pcm16ToBytes(pcm24k);
        const stream = createModelToCaller('pcm16');
        let sentBytes = 0;
        let pushedBytes = 0;
        let errors = 0;
        for (const c of chunk(bytes, sizes)) {
          sentBytes += stream.push(c).length * TWILIO_FRAME_BYTES;
          pushedBytes += c.length;
          if (sentBytes + stream.pendingBytes !== Math.ceil(Math.floor(pushedBytes / 2) / 3)) errors++;
        }
        expect(errors).toBe(0);
      }),
      FC_PARAMS,
    );
  });
});

describe('no drift over 10 minutes of audio, through the whole direction', () => {
  it('caller → model: 30 000 Twilio frames give exactly 6 bytes per μ-law byte', () => {
    const stream = createCallerToModel('pcm16');
    const frame = Uint8Array.from({ length: 160 }, (_, i) => (i * 37) & 0xff);
    let outBytes = 0;
    for (let i = 0; i < 30_000; i++) outBytes += stream.push(frame).length;
    expect(outBytes).toBe(30_000 * 160 * 6);
  });

  it('model → caller: 10 min of odd-sized deltas, sent + pending = ceil(samples / 3) after every delta', () => {
    const source = pcm16ToBytes(Int16Array.from({ length: 24_000 }, (_, i) => Math.round(9000 * Math.sin(i / 7))));
    const random = seededRandom(10);
    const stream = createModelToCaller('pcm16');
    const totalBytes = 10 * 60 * 48_000;
    let pushedBytes = 0;
    let sentBytes = 0;
    let errors = 0;
    while (pushedBytes < totalBytes) {
      const size = Math.min(totalBytes - pushedBytes, 2400 + Math.floor(random() * 16801));
      const offset = Math.floor(random() * (source.length - size));
      sentBytes += stream.push(source.subarray(offset, offset + size)).length * TWILIO_FRAME_BYTES;
      pushedBytes += size;
      if (sentBytes + stream.pendingBytes !== Math.ceil(Math.floor(pushedBytes / 2) / 3)) errors++;
    }
    expect(errors).toBe(0);
    expect(sentBytes + stream.pendingBytes).toBe(10 * 60 * 8000);
  });
});

describe('pcmu passthrough', () => {
  it('caller → model returns the same bytes without copying', () => {
    const stream = createCallerToModel('pcmu');
    const payload = Buffer.from([1, 2, 3, 4]);
    expect(stream.push(payload)).toBe(payload);
    const plain = new Uint8Array([5, 6, 7]);
    const out = stream.push(plain);
    expect(Buffer.isBuffer(out)).toBe(true);
    expect(out.buffer).toBe(plain.buffer);
    expect(Array.from(out)).toEqual([5, 6, 7]);
    expect(stream.flush()).toHaveLength(0);
  });

  it('model → caller only re-frames: any chunking gives the input in 160-byte frames, padded with 0xFF', () => {
    fc.assert(
      fc.property(byteStream(5000), chunkSizes(2000), (mulaw, sizes) => {
        const stream = createModelToCaller('pcmu');
        const frames = chunk(mulaw, sizes).flatMap((c) => stream.push(c));
        expect(stream.pendingBytes).toBe(mulaw.length % TWILIO_FRAME_BYTES);
        frames.push(...stream.flush());
        expect(frames.every((f) => f.length === TWILIO_FRAME_BYTES)).toBe(true);
        const padded = Buffer.alloc(Math.ceil(mulaw.length / 160) * 160, MULAW_SILENCE);
        padded.set(mulaw);
        expect(concatBytes(frames).equals(padded)).toBe(true);
      }),
      FC_PARAMS,
    );
  });
});

describe('PCM16 byte helpers', () => {
  it('round-trip samples through little-endian bytes at any byteOffset, odd included', () => {
    fc.assert(
      fc.property(int16Stream(500), fc.integer({ min: 0, max: 7 }), (pcm, offset) => {
        const bytes = pcm16ToBytes(pcm);
        for (let s = 0; s < pcm.length; s++) expect(bytes.readInt16LE(2 * s)).toBe(pcm[s]);
        const shifted = new Uint8Array(bytes.length + offset).subarray(offset);
        shifted.set(bytes);
        expect(pcm16FromBytes(shifted)).toEqual(pcm);
      }),
      { ...FC_PARAMS, numRuns: 50 },
    );
  });

  it('pcm16ToBytes copies; pcm16FromBytes rejects an odd byte count', () => {
    const pcm = new Int16Array([1, 2]);
    const bytes = pcm16ToBytes(pcm);
    pcm[0] = 99;
    expect(bytes.readInt16LE(0)).toBe(1);
    expect(() => pcm16FromBytes(new Uint8Array(3))).toThrow(RangeError);
  });
});
