/**
 * Caller audio is sent to the model `callerFramesPerAppend` frames at a time (2 by default):
 * nothing is lost, reordered or duplicated, gap fill and the reconnect buffer still work, and
 * a half-filled append survives a dropped model socket.
 */
import { describe, expect, it } from 'vitest';

import { DEFAULT_TUNING } from '../../../src/call/call-session.js';
import type { CallCommand } from '../../../src/call/events.js';
import { liveSession, media } from '../../support/call-builders.js';

const appends = (cmds: CallCommand[]) =>
  cmds.flatMap((c) => (c.type === 'model.appendAudio' ? [Buffer.from(c.audio)] : []));
const batched = { tuning: { callerFramesPerAppend: DEFAULT_TUNING.callerFramesPerAppend } };

describe('caller audio in appends of several frames', () => {
  it('defaults to two frames per append', () => {
    expect(DEFAULT_TUNING.callerFramesPerAppend).toBe(2);
  });

  it('sends every second frame with its partner, in order, nothing lost (pcmu)', () => {
    const h = liveSession(batched);
    expect(appends(h.feed(media(0, 160, 1)))).toEqual([]);
    const second = appends(h.feed(media(20, 160, 2)));
    expect(second).toHaveLength(1);
    expect([...second[0]!]).toEqual([...Buffer.alloc(160, 1), ...Buffer.alloc(160, 2)]);
    const more = appends(h.feedAll([media(40, 160, 3), media(60, 160, 4), media(80, 160, 5)]));
    expect(more.map((b) => [b.length, b[0], b[b.length - 1]])).toEqual([[320, 3, 4]]);
  });

  it('counts PCM16 bytes in pcm16 mode: 2 frames = 1920 bytes per append', () => {
    const h = liveSession({ ...batched, profile: { modelAudio: 'pcm16' } });
    const sent = appends(h.feedAll([media(0), media(20), media(40), media(60)]));
    expect(sent.map((b) => b.length)).toEqual([1920, 1920]);
  });

  it('a filled gap completes the append it falls into', () => {
    const h = liveSession(batched);
    const sent = appends(h.feedAll([media(0, 160, 1), media(100, 160, 7)]));
    // frame 1 + 80 ms of silence go out together; frame 7 waits for its partner
    expect(sent.map((b) => b.length)).toEqual([160 + 640]);
    expect(sent[0]![0]).toBe(1);
    expect(sent[0]!.subarray(160).every((b) => b === 0xff)).toBe(true);
    expect(appends(h.feed(media(120, 160, 8))).map((b) => [b[0], b[160]])).toEqual([[7, 8]]);
  });

  it('a half-filled append is kept through a dropped model socket and sent first after the reconnect', () => {
    const h = liveSession(batched);
    expect(appends(h.feed(media(0, 160, 9)))).toEqual([]);
    h.feed({ type: 'model.closed', code: 1006, reason: '', willRetry: true, retryInMs: 250 });
    expect(appends(h.feed(media(20, 160, 8)))).toEqual([]);
    const reopened = appends(h.feed({ type: 'model.open', reconnect: true }));
    expect(reopened.map((b) => b[0])).toEqual([9, 8]);
  });

  it('pcm16: the batched appends carry exactly the bytes of frame-by-frame transcoding', () => {
    let seed = 3;
    const frames = Array.from({ length: 11 }, (_v, i) => {
      const payload = Buffer.alloc(160);
      for (let j = 0; j < 160; j++) payload[j] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      return { type: 'twilio.media' as const, timestampMs: i * 20, payload };
    });
    const one = liveSession({ profile: { modelAudio: 'pcm16' }, tuning: { callerFramesPerAppend: 1 } });
    const two = liveSession({ ...batched, profile: { modelAudio: 'pcm16' } });
    const a = Buffer.concat(appends(one.feedAll(frames)));
    const b = Buffer.concat(appends(two.feedAll(frames)));
    // 11 frames: 5 appends of two, the eleventh frame still waiting
    expect(b.length).toBe(10 * 960);
    expect(b.equals(a.subarray(0, b.length))).toBe(true);
  });
});
