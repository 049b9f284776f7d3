/**
 * No caller frame waits for a partner (issue #14 item 11, issue #15): the session turns each
 * Twilio frame into its own append in the same `handle` call, so a lone frame — the last one
 * before a pause or `stop` — leaves at once. Merging appends that queue behind a busy socket
 * is the realtime link's job (realtime-link.append-coalescing.test.ts).
 */
import { describe, expect, it } from 'vitest';

import type { CallCommand } from '../../../src/call/events.js';
import { liveSession, media } from '../../support/call-builders.js';

const appends = (cmds: CallCommand[]) =>
  cmds.flatMap((c) => (c.type === 'model.appendAudio' ? [Buffer.from(c.audio)] : []));

describe('caller frames reach the model one by one, at once', () => {
  it.each([
    ['pcmu', 160],
    ['pcm16', 960],
  ] as const)('%s: a lone frame is appended in the same handle() call (%i bytes)', (modelAudio, bytes) => {
    const h = liveSession({ profile: { modelAudio } });
    const sent = appends(h.feed(media(0, 160, 1)));
    expect(sent.map((b) => b.length)).toEqual([bytes]);
  });

  it('every frame is its own append, in order: nothing is held back', () => {
    const h = liveSession();
    for (let n = 1; n <= 7; n++) expect(appends(h.feed(media(20 * (n - 1), 160, n)))).toEqual([Buffer.alloc(160, n)]);
  });

  it.each(['pcmu', 'pcm16'] as const)(
    '%s: the last frame before stop is appended before the model socket closes',
    (modelAudio) => {
      const h = liveSession({ profile: { modelAudio } });
      const cmds = h.feedAll([media(0, 160, 1), media(20, 160, 2), media(40, 160, 3), { type: 'twilio.stop' }]);
      const types = cmds.map((c) => c.type).filter((t) => t === 'model.appendAudio' || t === 'model.close');
      expect(types).toEqual(['model.appendAudio', 'model.appendAudio', 'model.appendAudio', 'model.close']);
      const bytesPerFrame = modelAudio === 'pcm16' ? 960 : 160;
      expect(appends(cmds).reduce((n, b) => n + b.length, 0)).toBe(3 * bytesPerFrame);
    },
  );

  it('pcm16: the appends carry exactly the bytes of transcoding the frames in one piece', () => {
    let seed = 3;
    const payloads = Array.from({ length: 11 }, () => {
      const payload = Buffer.alloc(160);
      for (let j = 0; j < 160; j++) payload[j] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      return payload;
    });
    const byFrame = liveSession({ profile: { modelAudio: 'pcm16' } });
    const frames = payloads.map((payload, i) => ({ type: 'twilio.media' as const, timestampMs: i * 20, payload }));
    const whole = liveSession({ profile: { modelAudio: 'pcm16' } });
    const one = { type: 'twilio.media' as const, timestampMs: 0, payload: Buffer.concat(payloads) };
    expect(Buffer.concat(appends(byFrame.feedAll(frames)))).toEqual(Buffer.concat(appends(whole.feed(one))));
  });

  it('audio that arrives while the model is away is held and goes first, in order, after the reconnect', () => {
    const h = liveSession();
    expect(appends(h.feed(media(0, 160, 9)))).toHaveLength(1);
    h.feed({ type: 'model.closed', code: 1006, reason: '', willRetry: true, retryInMs: 250 });
    expect(appends(h.feedAll([media(20, 160, 8), media(40, 160, 7)]))).toEqual([]);
    const reopened = h.feed({ type: 'model.open', reconnect: true });
    expect(appends(reopened).map((b) => b[0])).toEqual([8, 7]);
    expect(appends(h.feed(media(60, 160, 6))).map((b) => b[0])).toEqual([6]);
  });
});
