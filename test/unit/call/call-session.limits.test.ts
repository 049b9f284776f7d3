/**
 * The operating limits as the session sees them (SPEC §8, issue #14 item 5): `call.limit`
 * ends the call with outcome `error` and the limit as its reason. `media_timeout` ends it at
 * once; `max_duration` ends it cleanly — after the profile's `goodbye`, said like the greeting
 * and heard in full, when there is one.
 */
import { describe, expect, it } from 'vitest';

import type { CallCommand } from '../../../src/call/events.js';
import {
  delta,
  echoUpTo,
  liveSession,
  markNames,
  responseCreated,
  responseDone,
  wire,
} from '../../support/call-builders.js';

const ends = (cmds: CallCommand[]) => cmds.filter((c) => c.type === 'record.end');

describe('call limits', () => {
  it.each(['media_timeout', 'max_duration'] as const)(
    '%s without a goodbye: the model socket and the stream close at once, outcome error',
    (reason) => {
      const h = liveSession({ canUseRest: false });
      const cmds = h.feed({ type: 'call.limit', reason });
      expect(wire(cmds)).toEqual([{ type: 'model.close' }, { type: 'twilio.close', code: 1000, reason: 'error' }]);
      expect(ends(cmds)).toMatchObject([{ outcome: 'error', detail: reason }]);
      expect(h.session.phaseName).toBe('ended');
    },
  );

  it('media_timeout ends at once even when the profile has a goodbye (nobody is there to hear it)', () => {
    const h = liveSession({ profile: { goodbye: 'Goodbye!' } });
    const cmds = h.feed({ type: 'call.limit', reason: 'media_timeout' });
    expect(ends(cmds)).toMatchObject([{ outcome: 'error', detail: 'media_timeout' }]);
  });

  it('max_duration with a goodbye: the assistant says it, the call ends once it has played', () => {
    const h = liveSession({ profile: { goodbye: 'We have to stop here. Goodbye!' }, canUseRest: false });
    const limit = h.feed({ type: 'call.limit', reason: 'max_duration' });
    expect(wire(limit)).toEqual([
      {
        type: 'model.createResponse',
        instructions: expect.stringContaining('"We have to stop here. Goodbye!"') as unknown,
      },
    ]);
    expect(limit).toContainEqual({ type: 'timer.set', name: 'endFallback', delayMs: 20_000 });
    expect(ends(limit)).toEqual([]);

    h.feed(responseCreated('resp_bye'));
    const audio = h.feed(delta('resp_bye', 'item_bye', 600));
    const done = h.feed(responseDone('resp_bye'));
    expect(ends(done)).toEqual([]);
    const names = markNames([...audio, ...done]);
    const heardHalf = echoUpTo(h, names, 300);
    expect(ends(heardHalf)).toEqual([]);
    const heardAll = echoUpTo(
      h,
      names.filter((n) => Number(n.split(':').pop()) > 300),
      600,
    );
    expect(ends(heardAll)).toMatchObject([{ outcome: 'error', detail: 'max_duration' }]);
    expect(wire(heardAll)).toContainEqual({ type: 'twilio.close', code: 1000, reason: 'error' });
  });

  it('max_duration during an answer: the goodbye follows once that answer is done', () => {
    const h = liveSession({ profile: { goodbye: 'Goodbye!' }, canUseRest: true });
    h.feed(responseCreated('resp_1'));
    h.feed(delta('resp_1', 'item_1', 200));
    const limit = h.feed({ type: 'call.limit', reason: 'max_duration' });
    expect(wire(limit)).toEqual([]);
    const done = h.feed(responseDone('resp_1'));
    expect(wire(done).filter((c) => c.type === 'model.createResponse')).toEqual([
      { type: 'model.createResponse', instructions: expect.stringContaining('"Goodbye!"') as unknown },
    ]);
    expect(done).toContainEqual({ type: 'timer.set', name: 'endFallback', delayMs: 20_000 });
  });

  it('a goodbye the model never says does not hold the call: endFallback ends it (REST hang-up)', () => {
    const h = liveSession({ profile: { goodbye: 'Goodbye!' }, canUseRest: true });
    h.feed({ type: 'call.limit', reason: 'max_duration' });
    const fallback = h.feed({ type: 'timer.fired', name: 'endFallback' });
    expect(wire(fallback)).toEqual([{ type: 'rest.hangUp' }]);
    const hungUp = h.feed({ type: 'rest.done', action: 'hangUp', ok: true, error: null });
    expect(ends(hungUp)).toMatchObject([{ outcome: 'error', detail: 'max_duration' }]);
  });
});
