import { describe, expect, it } from 'vitest';

import { buildCall, type CallTap } from '../../../src/call/call-factory.js';
import type { CallEvent, TwilioCommand } from '../../../src/call/events.js';
import type { ModelCommand, ModelEvent, ModelLinkEvent } from '../../../src/protocol/realtime.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';
import { makeProfile } from '../../support/call-builders.js';

const START: CallEvent = {
  type: 'twilio.start',
  streamSid: 'MZ1',
  callSid: 'CA1',
  accountSid: 'AC1',
  customParameters: {},
};

/** A call from the factory with fake links; everything that happens lands in `seen`, in order. */
function fakeCall(options: { recorded: boolean }) {
  const seen: string[] = [];
  const tap: CallTap = {
    twilio: (dir, text) => seen.push(`tap ${dir} ${(JSON.parse(text) as { event: string }).event}`),
    model: {
      message: (dir, wire) => seen.push(`tap ${dir} ${(wire as { type: string }).type}`),
      appendAudio: (audio) => seen.push(`tap model_in append ${audio.byteLength}`),
    },
    lifecycle: (dir, msg) => seen.push(`lifecycle ${dir} ${String(msg['type'] ?? msg['event'])}`),
  };
  let twilioEvent: ((e: CallEvent) => void) | null = null;
  let modelEvent: ((e: ModelEvent | ModelLinkEvent) => void) | null = null;
  let tapsHanded = 0;
  const call = buildCall({
    callSid: 'CA1',
    profile: makeProfile(),
    clock: new VirtualClock(),
    logger: silentLogger(),
    apologyMulaw: Buffer.alloc(800),
    control: null,
    twilio: (io) => {
      twilioEvent = io.onEvent;
      if (io.tap !== undefined) tapsHanded++;
      return {
        execute: (cmd: TwilioCommand) => seen.push(`twilio ${cmd.type}`),
        close: () => seen.push('twilio closed by runner'),
      };
    },
    model: (io) => {
      modelEvent = io.onEvent;
      if (io.tap !== undefined) tapsHanded++;
      return {
        connect: () => seen.push('link connect'),
        send: (cmd: ModelCommand) => seen.push(`link send ${cmd.type}`) > 0,
        reconnect: () => seen.push('link reconnect'),
        close: () => seen.push('link close'),
      };
    },
    tap: options.recorded ? tap : null,
    observer: {},
  });
  return {
    call,
    seen,
    tapsHanded: () => tapsHanded,
    twilio: (e: CallEvent) => twilioEvent!(e),
    model: (e: ModelEvent | ModelLinkEvent) => modelEvent!(e),
  };
}

describe('buildCall', () => {
  it('plugs the tap in: both links get it, and each socket lifecycle step is noted in wire order', () => {
    const c = fakeCall({ recorded: true });
    expect(c.tapsHanded()).toBe(2);
    c.call.runner.dispatch(START);
    c.model({ type: 'model.open', reconnect: false });
    c.model({ type: 'model.closed', code: 1006, reason: '', willRetry: true, retryInMs: 100 });
    c.model({ type: 'model.open', reconnect: true });
    c.call.runner.dispatch({ type: 'call.terminate', reason: 'test' });
    const lifecycle = c.seen.filter((s) => /^(lifecycle|link connect|link close|twilio twilio.close)/.test(s));
    expect(lifecycle).toEqual([
      'lifecycle model_in link.connect',
      'link connect',
      'lifecycle model_out link.open',
      'lifecycle model_out link.closed',
      'lifecycle model_out link.open',
      // a close is noted after the link acted (it writes held caller audio first)
      'link close',
      'lifecycle model_in link.close',
      'lifecycle twilio_out socket.close',
      'twilio twilio.close',
    ]);
    expect(c.call.runner.isFinished).toBe(true);
  });

  it("notes Twilio's socket closing before the session hears of it", () => {
    const c = fakeCall({ recorded: true });
    c.call.runner.dispatch(START);
    c.twilio({ type: 'twilio.closed', code: 1005 });
    expect(c.seen.indexOf('lifecycle twilio_in socket.closed')).toBeGreaterThanOrEqual(0);
    expect(c.seen.indexOf('lifecycle twilio_in socket.closed')).toBeLessThan(c.seen.indexOf('link close'));
    expect(c.call.session.outcome).not.toBeNull();
  });

  it('without a tap the links get none and nothing is noted: the same call, unobserved', () => {
    const c = fakeCall({ recorded: false });
    expect(c.tapsHanded()).toBe(0);
    c.call.runner.dispatch(START);
    c.model({ type: 'model.open', reconnect: false });
    c.call.runner.dispatch({ type: 'call.terminate', reason: 'test' });
    expect(c.seen.filter((s) => s.startsWith('lifecycle') || s.startsWith('tap'))).toEqual([]);
    expect(c.seen).toContain('link connect');
    expect(c.seen).toContain('twilio twilio.close');
  });
});
