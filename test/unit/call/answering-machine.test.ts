import { describe, expect, it } from 'vitest';

import { AnsweringMachine, SHORT_HELLO_MS } from '../../../src/call/answering-machine.js';

const MESSAGE = 'Please call us back.';
const voicemail = () => new AnsweringMachine({ machineDetection: 'voicemail', voicemailMessage: MESSAGE });

describe('AnsweringMachine: who answered an outbound call', () => {
  it('a short first turn ("hello?") is greeted at once, before any verdict', () => {
    const m = voicemail();
    m.speechStarted(1_000);
    expect(m.greeted).toBe(false);
    expect(m.speechStopped(1_000 + 1_100)).toEqual({ kind: 'greet' });
    expect(m.greeted).toBe(true);
    expect(m.verdict('human')).toEqual({ kind: 'none' });
  });

  it('a long first turn (a recorded greeting) waits for the verdict, then the message is said once', () => {
    const m = voicemail();
    m.speechStarted(300);
    expect(m.speechStopped(300 + SHORT_HELLO_MS + 1)).toEqual({ kind: 'none' });
    expect(m.openingTimeout()).toEqual({ kind: 'none' });
    expect(m.verdict('machine_end_beep')).toEqual({ kind: 'voicemail', message: MESSAGE });
    expect(m.isMachine).toBe(true);
    expect(m.verdict('machine_end_silence')).toEqual({ kind: 'none' });
  });

  it('a machine verdict after the greeting still goes to the voicemail path', () => {
    const m = voicemail();
    expect(m.openingTimeout()).toEqual({ kind: 'greet' });
    expect(m.verdict('machine_end_other')).toEqual({ kind: 'voicemail', message: MESSAGE });
  });

  it.each([
    ['hangup', MESSAGE, 'machine_end_beep'],
    ['voicemail', null, 'machine_end_beep'],
    ['voicemail', MESSAGE, 'fax'],
    ['voicemail', MESSAGE, 'machine_start'],
  ] as const)('policy %s, message %s, verdict %s → hang up', (machineDetection, voicemailMessage, answeredBy) => {
    const m = new AnsweringMachine({ machineDetection, voicemailMessage });
    expect(m.verdict(answeredBy)).toEqual({ kind: 'hangup', answeredBy });
  });

  it('human or unknown greets a callee still listening; detection off opens like an inbound call', () => {
    expect(voicemail().verdict('unknown')).toEqual({ kind: 'greet' });
    const off = new AnsweringMachine({ machineDetection: 'off', voicemailMessage: MESSAGE });
    expect(off.greeted).toBe(true);
    expect(off.verdict('machine_end_beep')).toEqual({ kind: 'none' });
  });

  it('silence after the answer is greeted; speech under way is not', () => {
    expect(voicemail().openingTimeout()).toEqual({ kind: 'greet' });
    const m = voicemail();
    m.speechStarted(200);
    expect(m.openingTimeout()).toEqual({ kind: 'none' });
  });
});
