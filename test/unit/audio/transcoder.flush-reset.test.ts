/**
 * Response boundaries: flush at the end of a response emits everything (resampler tail and
 * padded last frame); reset after a barge-in drops everything (partial frame, filter
 * history, odd byte) so nothing of the old response reaches the caller.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TWILIO_FRAME_BYTES } from '../../../src/audio/framer.js';
import { decodeMulaw, MULAW_SILENCE } from '../../../src/audio/g711.js';
import { createCallerToModel, createModelToCaller, pcm16ToBytes } from '../../../src/audio/transcoder.js';
import { byteStream, concatBytes, FC_PARAMS, int16Stream } from '../../support/audio.js';

describe('ModelToCaller.flush (end of response)', () => {
  it('emits every input sample: total = ceil((N + 71) / 3) μ-law samples, padded to whole frames', () => {
    fc.assert(
      fc.property(int16Stream(6000), (pcm24k) => {
        const stream = createModelToCaller('pcm16');
        const frames = [...stream.push(pcm16ToBytes(pcm24k)), ...stream.flush()];
        const samples = Math.ceil((pcm24k.length + 71) / 3);
        expect(frames).toHaveLength(Math.ceil(samples / TWILIO_FRAME_BYTES));
        const bytes = concatBytes(frames);
        expect(bytes.subarray(samples).every((b) => b === MULAW_SILENCE)).toBe(true);
        expect(stream.pendingBytes).toBe(0);
      }),
      { ...FC_PARAMS, numRuns: 100 },
    );
  });

  it('the last sample of a response is heard: an impulse at the very end comes out after flush', () => {
    const n = 4800;
    const pcm24k = new Int16Array(n);
    pcm24k[n - 1] = 30000;
    const stream = createModelToCaller('pcm16');
    const before = decodeMulaw(concatBytes(stream.push(pcm16ToBytes(pcm24k))));
    const after = decodeMulaw(concatBytes([...stream.flush()]));
    expect(before.every((s) => Math.abs(s) < 100)).toBe(true);
    // the impulse peaks 35.5 samples (at 24 kHz) after it went in: 8 kHz sample ≈ (4799 + 35.5) / 3
    const peakIndex = Math.round((n - 1 + 35.5) / 3) - before.length;
    const peak = after.reduce((best, s, i) => (Math.abs(s) > Math.abs(after[best]!) ? i : best), 0);
    expect(Math.abs(peak - peakIndex)).toBeLessThanOrEqual(1);
    expect(after[peak]).toBeGreaterThan(5000);
  });

  it('drops a dangling odd byte (half a sample) and starts the next response clean', () => {
    const stream = createModelToCaller('pcm16');
    stream.push(new Uint8Array(961).fill(0x40));
    stream.flush();
    const next = pcm16ToBytes(Int16Array.from({ length: 960 }, (_, i) => (i % 50) * 300));
    const fresh = createModelToCaller('pcm16');
    expect(concatBytes(stream.push(next)).equals(concatBytes(fresh.push(next)))).toBe(true);
  });
});

describe('ModelToCaller.reset (barge-in)', () => {
  it.each(['pcm16', 'pcmu'] as const)('%s: nothing of the previous response leaks into the next', (format) => {
    fc.assert(
      fc.property(byteStream(5000), byteStream(5000), (previous, next) => {
        const stream = createModelToCaller(format);
        stream.push(previous); // leaves a partial frame, filter history and maybe an odd byte
        stream.reset();
        expect(stream.pendingBytes).toBe(0);
        const fresh = createModelToCaller(format);
        const got = concatBytes([...stream.push(next), ...stream.flush()]);
        const expected = concatBytes([...fresh.push(next), ...fresh.flush()]);
        expect(got.equals(expected)).toBe(true);
      }),
      { ...FC_PARAMS, numRuns: 100 },
    );
  });
});

describe('CallerToModel flush and reset', () => {
  it('flush emits the 69-sample upsampler tail (138 bytes); reset forgets the history', () => {
    const stream = createCallerToModel('pcm16');
    stream.push(new Uint8Array(160).fill(0x80));
    expect(stream.flush()).toHaveLength(138);
    stream.push(new Uint8Array(160).fill(0x80));
    stream.reset();
    const frame = new Uint8Array(160).fill(0xff);
    expect(stream.push(frame).equals(createCallerToModel('pcm16').push(frame))).toBe(true);
  });
});
