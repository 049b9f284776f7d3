/**
 * `send_dtmf` (issue #15): the keys the model asks for reach the far end as in-band tones in
 * the outbound Twilio frames; a Goertzel receiver on those frames reads the same keys back.
 */
import { describe, expect, it } from 'vitest';

import type { CallCommand } from '../../../src/call/events.js';
import { dtmfTones, sendDtmf } from '../../../src/call/tools/send-dtmf.js';
import {
  delta,
  echoUpTo,
  functionCall,
  liveSession,
  mark,
  markNames,
  responseCreated,
  responseDone,
  speechStarted,
  wire,
} from '../../support/call-builders.js';
import { decodeDtmf } from '../../support/dtmf.js';

const frames = (cmds: CallCommand[]) =>
  Buffer.concat(cmds.flatMap((c) => (c.type === 'twilio.media' ? [c.payload] : [])));
const outputs = (cmds: CallCommand[]) =>
  cmds.flatMap((c) =>
    c.type === 'model.createItem' && c.item.kind === 'function_call_output'
      ? [JSON.parse(c.item.output) as unknown]
      : [],
  );
const ctx = { profile: {} as never, canUseRest: false };

describe('DTMF tones', () => {
  it('every key decodes back, 100 ms of tone and 100 ms of silence each', () => {
    const { keys, tones } = decodeDtmf(dtmfTones('1234567890*#'));
    expect(keys).toBe('1234567890*#');
    for (const t of tones) expect(t.durationMs).toBe(100);
    expect(tones.map((t) => t.startMs)).toEqual(tones.map((_t, i) => i * 200));
  });

  it('w is half a second of silence', () => {
    const audio = dtmfTones('1w2ww#');
    expect(audio.length).toBe(8 * (3 * 200 + 3 * 500));
    expect(decodeDtmf(audio).keys).toBe('1w2ww#');
  });

  it('digits the tool cannot press get an error for the model, and the model is asked to carry on', () => {
    for (const digits of ['', '12a', '1'.repeat(33), 5]) {
      const plan = sendDtmf.plan({ digits }, ctx);
      expect(plan).toMatchObject({
        kind: 'output',
        respond: true,
        output: expect.stringContaining('"ok":false') as unknown,
      });
    }
    expect(sendDtmf.plan(null, ctx)).toMatchObject({ kind: 'output', respond: true });
  });
});

describe('send_dtmf in a call', () => {
  it('the phone receives the keys after the words before them; the model is told and left to listen', () => {
    const h = liveSession({ profile: { tools: ['send_dtmf'] } });
    const cmds = h.feedAll([
      responseCreated('r1'),
      delta('r1', 'i1', 200),
      functionCall('r1', 'send_dtmf', '{"digits":"1w2#"}'),
      responseDone('r1'),
    ]);
    expect(outputs(cmds)).toEqual([
      { ok: true, digits: '1w2#', note: 'the keys are being pressed; listen for the answer' },
    ]);
    expect(wire(cmds).some((c) => c.type === 'model.createResponse')).toBe(false);
    const audio = frames(cmds);
    expect(audio.subarray(0, 1600).every((b) => b === 0x2a)).toBe(true); // the 200 ms said first
    expect(decodeDtmf(audio.subarray(1600)).keys).toBe('1w2#');
  });

  it('the far end talking over the tones does not clear them; once they have played, barge-in works again', () => {
    const h = liveSession({ profile: { tools: ['send_dtmf'] } });
    const cmds = h.feedAll([
      responseCreated('r1'),
      functionCall('r1', 'send_dtmf', '{"digits":"42"}'),
      responseDone('r1'),
    ]);
    expect(wire(h.feed(speechStarted()))).toEqual([]);
    for (const n of markNames(cmds)) h.feed(mark(n));
    const next = h.feedAll([responseCreated('r2'), delta('r2', 'i2', 600)]);
    echoUpTo(h, markNames(next), 120);
    expect(wire(h.feed(speechStarted())).map((c) => c.type)).toEqual([
      'twilio.clear',
      'model.cancelResponse',
      'model.truncate',
    ]);
  });
});
