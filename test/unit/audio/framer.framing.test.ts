import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MulawFramer, TWILIO_FRAME_BYTES } from '../../../src/audio/framer.js';
import { MULAW_SILENCE } from '../../../src/audio/g711.js';
import { byteStream, chunk, chunkSizes, concatBytes, FC_PARAMS } from '../../support/audio.js';

describe('MulawFramer', () => {
  it('a Twilio frame is 160 bytes = 20 ms at 8 kHz', () => {
    expect(TWILIO_FRAME_BYTES).toBe(160);
  });

  it.each([
    { pushes: [0], frames: [0], pending: 0 },
    { pushes: [160], frames: [1], pending: 0 },
    { pushes: [480], frames: [3], pending: 0 },
    { pushes: [100, 100], frames: [0, 1], pending: 40 },
    { pushes: [159, 1], frames: [0, 1], pending: 0 },
    { pushes: [1, 1, 158], frames: [0, 0, 1], pending: 0 },
    { pushes: [170, 150, 1], frames: [1, 1, 0], pending: 1 },
    { pushes: [959], frames: [5], pending: 159 },
  ])('pushes of $pushes bytes give $frames frames, $pending bytes pending', ({ pushes, frames, pending }) => {
    const framer = new MulawFramer();
    const counts = pushes.map((n) => framer.push(new Uint8Array(n)).length);
    expect(counts).toEqual(frames);
    expect(framer.pendingBytes).toBe(pending);
  });

  it('any chunking: whole frames in order, nothing lost or reordered, remainder pending', () => {
    fc.assert(
      fc.property(byteStream(5000), chunkSizes(2000), (stream, sizes) => {
        const framer = new MulawFramer();
        const frames = chunk(stream, sizes).flatMap((c) => framer.push(c));
        const whole = Math.floor(stream.length / 160) * 160;
        expect(frames.every((f) => f.length === TWILIO_FRAME_BYTES)).toBe(true);
        expect(concatBytes(frames).equals(Buffer.from(stream.subarray(0, whole)))).toBe(true);
        expect(framer.pendingBytes).toBe(stream.length - whole);
        // flush: the rest, padded with silence
        const tail = framer.flush();
        expect(tail).toHaveLength(stream.length > whole ? 1 : 0);
        if (tail[0] !== undefined) {
          const expected = Buffer.alloc(160, MULAW_SILENCE);
          expected.set(stream.subarray(whole));
          expect(tail[0].equals(expected)).toBe(true);
        }
        expect(framer.pendingBytes).toBe(0);
      }),
      FC_PARAMS,
    );
  });

  it('flush with nothing pending emits nothing', () => {
    const framer = new MulawFramer();
    framer.push(new Uint8Array(320));
    expect(framer.flush()).toEqual([]);
  });

  it('frames are fresh Buffers: they alias neither the input nor each other', () => {
    const framer = new MulawFramer();
    const input = new Uint8Array(400).fill(7);
    const frames = [...framer.push(input.subarray(0, 250)), ...framer.push(input.subarray(250))];
    input.fill(9);
    frames[0]!.fill(1);
    expect(frames).toHaveLength(2);
    expect(frames.every((f) => Buffer.isBuffer(f))).toBe(true);
    expect(Array.from(new Set(frames[1]))).toEqual([7]);
    expect(
      framer
        .flush()[0]!
        .subarray(0, 80)
        .every((b) => b === 7),
    ).toBe(true);
  });

  it('reset drops the pending bytes (they must not be played after a clear)', () => {
    const framer = new MulawFramer();
    framer.push(new Uint8Array(100).fill(1));
    framer.reset();
    expect(framer.pendingBytes).toBe(0);
    expect(framer.flush()).toEqual([]);
    const next = framer.push(new Uint8Array(160).fill(2));
    expect(next).toHaveLength(1);
    expect(next[0]!.every((b) => b === 2)).toBe(true);
  });
});
