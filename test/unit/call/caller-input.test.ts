import { describe, expect, it } from 'vitest';

import { CallerInput } from '../../../src/call/caller-input.js';
import type { CallCommand } from '../../../src/call/events.js';

const input = (maxBufferedInputMs = 15_000) =>
  new CallerInput({ modelAudio: 'pcmu', modelBytesPerMs: 8, maxBufferedInputMs, maxGapFillMs: 2_000 });
const frame = (n: number, bytes = 160) => Buffer.alloc(bytes, n);
const appended = (out: CallCommand[]) =>
  out.flatMap((c) => (c.type === 'model.appendAudio' ? [Buffer.from(c.audio)] : []));

describe('CallerInput', () => {
  it('while connected, each frame is appended at once; a gap on the media clock is filled with μ-law silence', () => {
    const ci = input();
    ci.connected([]);
    const out: CallCommand[] = [];
    ci.frame(0, frame(1), out);
    ci.frame(20, frame(2), out);
    ci.frame(100, frame(3), out);
    expect(appended(out).map((b) => [b.length, b[0]])).toEqual([
      [160, 1],
      [160, 2],
      [480, 0xff],
      [160, 3],
    ]);
  });

  it('a jump beyond the gap limit (a clock reset) and overlapping timestamps add nothing', () => {
    const ci = input();
    ci.connected([]);
    const out: CallCommand[] = [];
    ci.frame(0, frame(1), out);
    ci.frame(60_000, frame(2), out);
    ci.frame(60_000, frame(3), out);
    expect(appended(out).map((b) => b.length)).toEqual([160, 160, 160]);
  });

  it('holds audio while the model is away and gives it back in order when it connects', () => {
    const ci = input();
    const out: CallCommand[] = [];
    ci.frame(0, frame(1), out);
    ci.frame(20, frame(2), out);
    expect(out).toEqual([]);
    const flushed: CallCommand[] = [];
    ci.connected(flushed);
    expect(appended(flushed).map((b) => b[0])).toEqual([1, 2]);
    ci.disconnected();
    ci.frame(40, frame(3), out);
    expect(out).toEqual([]);
  });

  it('keeps at most maxBufferedInputMs while away: the oldest audio goes first, with one warning', () => {
    const ci = input(100);
    const out: CallCommand[] = [];
    for (let n = 0; n < 10; n++) ci.frame(n * 20, frame(n), out);
    expect(out.filter((c) => c.type === 'log')).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'caller audio dropped while the model is unavailable' }),
    ]);
    expect(ci.droppedInputMs).toBe(100);
    const flushed: CallCommand[] = [];
    ci.connected(flushed);
    expect(appended(flushed).map((b) => b[0])).toEqual([5, 6, 7, 8, 9]);
  });
});
