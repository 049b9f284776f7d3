/**
 * CallSession on an outbound call (SPEC §13, `answering-machine.ts`): the model does not
 * answer on its own until the callee is known; a "hello?" is greeted at once; a machine
 * verdict cuts playback, says the voicemail message once and ends; `hangup` ends at once.
 */
import { describe, expect, it } from 'vitest';

import { SILENT_OPENING_MS } from '../../../src/call/answering-machine.js';
import type { CallCommand } from '../../../src/call/events.js';
import type { MachineDetection } from '../../../src/config/numbers.js';
import {
  audioDone,
  delta,
  makeSession,
  markNames,
  mark,
  responseCreated,
  responseDone,
  speechStarted,
  start,
  type SessionHarness,
} from '../../support/call-builders.js';

const MESSAGE = 'Please call Example Dental back.';

function outboundSession(machineDetection: MachineDetection = 'voicemail'): SessionHarness {
  const h = makeSession({
    profile: {
      greeting: 'Thanks for calling.',
      outbound: { greeting: 'Hello, this is Example Dental.', machineDetection, voicemailMessage: MESSAGE },
    },
    call: {
      callSid: 'CA1',
      from: '+15551230001',
      to: '+15557770001',
      profile: '+15551230001',
      direction: 'outbound',
      variables: {},
    },
  });
  return h;
}

const of = <T extends CallCommand['type']>(cmds: CallCommand[], type: T) =>
  cmds.filter((c): c is Extract<CallCommand, { type: T }> => c.type === type);

function createResponse(cmds: CallCommand[]): string[] {
  return of(cmds, 'model.createResponse').map((c) => c.instructions ?? '');
}

function autoResponse(cmds: CallCommand[]): (boolean | undefined)[] {
  return of(cmds, 'model.updateSession').map((c) => c.session.turnDetection?.createResponse);
}

/** Plays a whole response of `ms` and echoes its marks; returns every command. */
function play(h: SessionHarness, responseId: string, ms: number): CallCommand[] {
  const cmds = h.feedAll([
    responseCreated(responseId),
    delta(responseId, `item_${responseId}`, ms),
    audioDone(responseId, `item_${responseId}`),
    responseDone(responseId),
  ]);
  return [...cmds, ...markNames(cmds).flatMap((n) => h.feed(mark(n)))];
}

describe('CallSession: an outbound call', () => {
  it('opens without greeting and without model auto-responses; a short "hello?" is greeted at once', () => {
    const h = outboundSession();
    const opened = h.feedAll([start(), { type: 'model.open', reconnect: false }]);
    expect(of(opened, 'timer.set').map((t) => [t.name, t.delayMs])).toContainEqual(['opening', SILENT_OPENING_MS]);
    expect(createResponse(opened)).toEqual([]);
    expect(autoResponse(opened)).toEqual([false]);
    h.feed(speechStarted());
    h.clock.advance(1_100);
    const greeted = h.feed({ type: 'model.speechStopped', audioEndMs: 2_100, itemId: 'item_user_1' });
    expect(autoResponse(greeted)).toEqual([true]);
    expect(createResponse(greeted)).toHaveLength(1);
    expect(createResponse(greeted)[0]).toContain('Hello, this is Example Dental.');
    // AnsweredBy=human later changes nothing
    expect(createResponse(h.feed({ type: 'call.answeredBy', answeredBy: 'human' }))).toEqual([]);
  });

  it('a machine verdict during the greeting cuts it, says the voicemail message once, then ends voicemail_left', () => {
    const h = outboundSession();
    h.feedAll([start(), { type: 'model.open', reconnect: false }]);
    h.clock.advance(SILENT_OPENING_MS);
    expect(createResponse(h.feed({ type: 'timer.fired', name: 'opening' }))).toHaveLength(1);
    h.feedAll([responseCreated('r1'), delta('r1', 'item_r1', 2_000)]);
    const cut = h.feed({ type: 'call.answeredBy', answeredBy: 'machine_end_beep' });
    expect(cut.map((c) => c.type)).toEqual(expect.arrayContaining(['twilio.clear', 'model.cancelResponse']));
    expect(autoResponse(cut)).toEqual([false]);
    expect(createResponse(cut)).toHaveLength(1);
    expect(createResponse(cut)[0]).toContain(MESSAGE);
    // the cancelled greeting's late audio is dropped
    expect(of(h.feed(delta('r1', 'item_r1', 200)), 'twilio.media')).toEqual([]);
    const message = play(h, 'r2', 600);
    expect(of(message, 'twilio.media').length).toBe(30);
    expect(of(message, 'rest.hangUp')).toHaveLength(1);
    const ended = h.feed({ type: 'rest.done', action: 'hangUp', ok: true, error: null });
    expect(of(ended, 'record.end')[0]?.outcome).toBe('voicemail_left');
    expect(createResponse(h.feed({ type: 'call.answeredBy', answeredBy: 'machine_end_silence' }))).toEqual([]);
  });

  it('machine_detection hangup: a machine verdict ends the call at once, nothing said', () => {
    const h = outboundSession('hangup');
    h.feedAll([start(), { type: 'model.open', reconnect: false }, speechStarted()]);
    const cmds = h.feed({ type: 'call.answeredBy', answeredBy: 'machine_end_beep' });
    expect(createResponse(cmds)).toEqual([]);
    expect(of(cmds, 'rest.hangUp')).toHaveLength(1);
    const ended = h.feed({ type: 'rest.done', action: 'hangUp', ok: true, error: null });
    expect(of(ended, 'record.end')[0]?.outcome).toBe('machine_detected');
  });

  it('an inbound call is untouched: greeting at once, auto-responses on', () => {
    const h = makeSession({ profile: { greeting: 'Thanks for calling.' } });
    const cmds = h.feedAll([start(), { type: 'model.open', reconnect: false }]);
    expect(autoResponse(cmds)).toEqual([true]);
    expect(createResponse(cmds)[0]).toContain('Thanks for calling.');
  });
});
