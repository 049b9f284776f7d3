import { describe, expect, it } from 'vitest';

import type { CallCommand } from '../../../src/call/events.js';
import {
  audioDone,
  delta,
  functionCall,
  liveSession,
  makeSession,
  mark,
  markNames,
  media,
  responseCreated,
  responseDone,
  start,
  wire,
} from '../../support/call-builders.js';

const appends = (cmds: CallCommand[]) =>
  cmds.flatMap((c) => (c.type === 'model.appendAudio' ? [Buffer.from(c.audio)] : []));
const frames = (cmds: CallCommand[]) => cmds.flatMap((c) => (c.type === 'twilio.media' ? [c.payload] : []));

describe('start-up', () => {
  it(
    'start opens the model; ' +
      'caller audio before the session is ready is buffered and sent in order after session.update',
    () => {
      const h = makeSession();
      expect(wire(h.feed(start()))).toEqual([{ type: 'model.connect' }]);
      expect(h.session.phaseName).toBe('connecting');
      const early = [media(0, 160, 1), media(20, 160, 2), media(40, 160, 3)];
      expect(appends(h.feedAll(early))).toEqual([]);
      const open = h.feed({ type: 'model.open', reconnect: false });
      expect(open[0]).toMatchObject({
        type: 'model.updateSession',
        session: {
          audioFormat: 'pcmu',
          voice: 'alloy',
          turnDetection: { type: 'server_vad', threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 },
        },
      });
      expect(appends(open).map((b) => b[0])).toEqual([1, 2, 3]);
      expect(h.session.phaseName).toBe('live');
      // afterwards audio flows straight through
      expect(appends(h.feed(media(60, 160, 4)))).toHaveLength(1);
    },
  );

  it('the greeting is requested right after session.update, before any caller turn', () => {
    const h = makeSession({ profile: { greeting: 'Thanks for calling!' } });
    h.feed(start());
    const open = wire(h.feed({ type: 'model.open', reconnect: false }));
    expect(open.map((c) => c.type)).toEqual(['model.updateSession', 'model.createResponse']);
    expect((open[1] as { instructions: string }).instructions).toContain('"Thanks for calling!"');
  });

  it('session.update carries the profile: instructions, voice, format, VAD, transcription, tools', () => {
    const h = makeSession({ profile: { modelAudio: 'pcm16', voice: 'verse', tools: ['hang_up'] } });
    const cfg = h.session.sessionConfig();
    expect(cfg).toMatchObject({
      instructions: 'Be brief.',
      voice: 'verse',
      audioFormat: 'pcm16',
      transcription: { model: 'whisper-1' },
    });
    expect(cfg.tools.map((t) => t.name)).toEqual(['hang_up']);
  });
});

describe('caller audio', () => {
  it('fills gaps in media.timestamp with μ-law silence so the model VAD can close the turn', () => {
    const h = liveSession();
    const sent = appends(h.feedAll([media(0), media(20), media(100, 160, 7)]));
    expect(sent.map((b) => b.length)).toEqual([160, 160, 480, 160]);
    expect(sent[2]!.every((b) => b === 0xff)).toBe(true);
    expect(sent[3]![0]).toBe(7);
  });

  it('does not fill a jump beyond the gap limit (clock reset), nor overlaps', () => {
    const h = liveSession();
    const sent = appends(h.feedAll([media(0), media(60_000), media(60_000)]));
    expect(sent.map((b) => b.length)).toEqual([160, 160, 160]);
  });

  it('transcodes to PCM16 24 kHz in pcm16 mode (3 samples per μ-law byte)', () => {
    const h = liveSession({ profile: { modelAudio: 'pcm16' } });
    const sent = appends(h.feed(media(0)));
    expect(sent.reduce((n, b) => n + b.length, 0)).toBeGreaterThan(0);
    expect(sent.reduce((n, b) => n + b.length, 0) % 2).toBe(0);
  });
});

describe('assistant audio', () => {
  it('exact 160-byte frames, a mark at least every 100 ms and at the item end', () => {
    const h = liveSession();
    const cmds = h.feedAll([
      responseCreated('r1'),
      delta('r1', 'i1', 250),
      delta('r1', 'i1', 137),
      audioDone('r1', 'i1'),
    ]);
    const f = frames(cmds);
    expect(f.every((p) => p.length === 160)).toBe(true);
    expect(f).toHaveLength(20); // 387 ms → 19 whole frames + the padded tail
    // positions of the marks, in ms of the item's audio
    const positions = markNames(cmds).map((n) => Number(n.split(':').pop()));
    expect(positions).toEqual([60, 120, 180, 240, 300, 360, 400]);
    // no stretch of more than 100 ms of audio without a mark
    let sinceMark = 0;
    for (const c of cmds) {
      if (c.type === 'twilio.media') sinceMark += 20;
      if (c.type === 'twilio.mark') sinceMark = 0;
      expect(sinceMark).toBeLessThanOrEqual(100);
    }
    expect(sinceMark).toBe(0);
  });

  it('a new item ends the previous one (tail + end mark) before its own audio', () => {
    const h = liveSession();
    const cmds = h.feedAll([responseCreated('r1'), delta('r1', 'a', 50), delta('r1', 'b', 40)]);
    const seq = cmds
      .filter((c) => c.type === 'twilio.media' || c.type === 'twilio.mark')
      .map((c) => (c.type === 'twilio.mark' ? `mark:${c.name.split(':').pop()}` : 'm'));
    expect(seq).toEqual(['m', 'm', 'm', 'mark:60', 'm', 'm']);
  });

  it('records the time to first assistant audio after the caller stops talking', () => {
    const h = liveSession();
    h.feed({ type: 'model.speechStopped', audioEndMs: 2000, itemId: 'u1' });
    h.clock.advance(420);
    const rec = h.feedAll([responseCreated('r1'), delta('r1', 'i1', 40)]).find((c) => c.type === 'record.firstAudio');
    expect(rec).toEqual({ type: 'record.firstAudio', latencyMs: 420, afterCallerTurn: true });
  });
});

describe('tools', () => {
  it('hang_up waits for the goodbye to play, then hangs up through REST', () => {
    const h = liveSession({ canUseRest: true });
    const cmds = h.feedAll([
      responseCreated('r1'),
      delta('r1', 'i1', 120),
      audioDone('r1', 'i1'),
      functionCall('r1', 'hang_up', '{"reason":"caller said bye"}'),
      responseDone('r1'),
    ]);
    expect(wire(cmds).some((c) => c.type === 'rest.hangUp')).toBe(false);
    const names = markNames(cmds);
    const last = names.pop()!;
    for (const n of names) expect(wire(h.feed(mark(n))).some((c) => c.type === 'rest.hangUp')).toBe(false);
    expect(wire(h.feed(mark(last)))).toEqual([{ type: 'rest.hangUp' }]);
    const done = h.feed({ type: 'rest.done', action: 'hangUp', ok: true, error: null });
    expect(done).toContainEqual(
      expect.objectContaining({ type: 'record.end', outcome: 'hang_up_tool', detail: 'caller said bye' }),
    );
    expect(wire(done)).toEqual([{ type: 'model.close' }, { type: 'twilio.close', code: 1000, reason: 'hang_up_tool' }]);
    expect(h.session.outcome).toBe('hang_up_tool');
  });

  it('hang_up without REST credentials closes the media stream after the audio', () => {
    const h = liveSession({ canUseRest: false });
    const cmds = h.feedAll([
      responseCreated('r1'),
      delta('r1', 'i1', 40),
      audioDone('r1', 'i1'),
      functionCall('r1', 'hang_up'),
      responseDone('r1'),
    ]);
    const end = markNames(cmds).flatMap((n) => h.feed(mark(n)));
    expect(wire(end)).toEqual([{ type: 'model.close' }, { type: 'twilio.close', code: 1000, reason: 'hang_up_tool' }]);
  });

  it('hang_up ends anyway if the last mark never comes back', () => {
    const h = liveSession();
    h.feedAll([
      responseCreated('r1'),
      delta('r1', 'i1', 40),
      audioDone('r1', 'i1'),
      functionCall('r1', 'hang_up'),
      responseDone('r1'),
    ]);
    expect(wire(h.feed({ type: 'timer.fired', name: 'endFallback' }))).toEqual([{ type: 'rest.hangUp' }]);
  });

  it('transfer_call redirects to transfer_to after the audio; success ends the call as transferred', () => {
    const h = liveSession();
    const cmds = h.feedAll([responseCreated('r1'), functionCall('r1', 'transfer_call'), responseDone('r1')]);
    expect(wire(cmds)).toContainEqual({ type: 'rest.transfer', to: '+15550000000' });
    expect(h.feed({ type: 'rest.done', action: 'transfer', ok: true, error: null })).toContainEqual(
      expect.objectContaining({ type: 'record.end', outcome: 'transferred' }),
    );
  });

  it('a failed transfer goes back to the conversation and lets the model say so', () => {
    const h = liveSession();
    h.feedAll([responseCreated('r1'), functionCall('r1', 'transfer_call'), responseDone('r1')]);
    const cmds = wire(h.feed({ type: 'rest.done', action: 'transfer', ok: false, error: 'HTTP 400' }));
    expect(cmds[0]).toMatchObject({
      type: 'model.createItem',
      item: { kind: 'function_call_output', callId: 'call_transfer_call' },
    });
    expect(cmds[1]).toEqual({ type: 'model.createResponse' });
    expect(h.session.phaseName).toBe('live');
  });

  it('an unknown tool gets an error output and a new response once the current one is done', () => {
    const h = liveSession();
    const during = wire(h.feedAll([responseCreated('r1'), functionCall('r1', 'launch_rocket')]));
    expect(during).toEqual([
      {
        type: 'model.createItem',
        item: {
          kind: 'function_call_output',
          callId: 'call_launch_rocket',
          output: expect.stringContaining('unknown tool') as unknown,
        },
      },
    ]);
    expect(wire(h.feed(responseDone('r1')))).toEqual([{ type: 'model.createResponse' }]);
  });

  it('DTMF digits reach the model as one text item, then a response is requested', () => {
    const h = liveSession();
    expect(
      wire(
        h.feedAll([
          { type: 'twilio.dtmf', digit: '1' },
          { type: 'twilio.dtmf', digit: '#' },
        ]),
      ),
    ).toEqual([]);
    expect(wire(h.feed({ type: 'timer.fired', name: 'dtmf' }))).toEqual([
      {
        type: 'model.createItem',
        item: { kind: 'message', role: 'user', text: 'The caller pressed these keys on the phone keypad: 1 #' },
      },
      { type: 'model.createResponse' },
    ]);
  });
});

describe('recovery and teardown', () => {
  it('a model drop buffers caller audio; the reconnect restores config, conversation and the buffered audio', () => {
    const h = liveSession();
    h.feedAll([
      { type: 'model.inputTranscriptDone', itemId: 'u1', contentIndex: 0, transcript: 'What time do you open?' },
      responseCreated('r1'),
      { type: 'model.transcriptDone', responseId: 'r1', itemId: 'a1', contentIndex: 0, transcript: 'We open at nine.' },
      responseDone('r1'),
    ]);
    h.feed({ type: 'model.closed', code: 1006, reason: '', willRetry: true, retryInMs: 250 });
    expect(appends(h.feedAll([media(0, 160, 9), media(20, 160, 8)]))).toEqual([]);
    const reopened = h.feed({ type: 'model.open', reconnect: true });
    expect(wire(reopened).map((c) => c.type)).toEqual(['model.updateSession', 'model.createItem', 'model.createItem']);
    expect(wire(reopened).slice(1)).toEqual([
      { type: 'model.createItem', item: { kind: 'message', role: 'user', text: 'What time do you open?' } },
      { type: 'model.createItem', item: { kind: 'message', role: 'assistant', text: 'We open at nine.' } },
    ]);
    expect(appends(reopened).map((b) => b[0])).toEqual([9, 8]);
  });

  it('a reconnect during playback also restores what the assistant is still saying', () => {
    const h = liveSession();
    h.feedAll([
      { type: 'model.inputTranscriptDone', itemId: 'u1', contentIndex: 0, transcript: 'When do you open?' },
      responseCreated('r1'),
      delta('r1', 'a1', 400),
      { type: 'model.transcriptDone', responseId: 'r1', itemId: 'a1', contentIndex: 0, transcript: 'At nine.' },
      audioDone('r1', 'a1'),
      responseDone('r1'),
    ]);
    h.feed({ type: 'model.closed', code: 1001, reason: '', willRetry: true, retryInMs: 250 });
    const items = wire(h.feed({ type: 'model.open', reconnect: true })).filter((c) => c.type === 'model.createItem');
    expect(items.map((c) => (c as { item: { role: string; text: string } }).item)).toEqual([
      { kind: 'message', role: 'user', text: 'When do you open?' },
      { kind: 'message', role: 'assistant', text: 'At nine.' },
    ]);
  });

  it('the model giving up plays the apology, then ends the call cleanly with outcome error', () => {
    const h = liveSession({ canUseRest: false, apologyMs: 300 });
    const cmds = h.feed({ type: 'model.failed', message: 'invalid_api_key', providerCode: 'invalid_api_key' });
    const f = frames(cmds);
    expect(f).toHaveLength(15);
    expect(wire(cmds).filter((c) => c.type === 'model.close')).toHaveLength(1);
    const end = markNames(cmds).flatMap((n) => h.feed(mark(n)));
    expect(end).toContainEqual(expect.objectContaining({ type: 'record.end', outcome: 'error' }));
    expect(wire(end)).toContainEqual({ type: 'twilio.close', code: 1000, reason: 'error' });
  });

  it('the model failing before it ever opened also apologises', () => {
    const h = makeSession();
    h.feed(start());
    const cmds = h.feed({ type: 'model.failed', message: 'connection refused', providerCode: null });
    expect(frames(cmds).length).toBeGreaterThan(0);
  });

  it('a stalled model (owes an answer, silent) is reconnected', () => {
    const h = liveSession();
    const cmds = h.feedAll([responseCreated('r1'), delta('r1', 'i1', 40)]);
    expect(cmds).toContainEqual({
      type: 'timer.set',
      name: 'modelStall',
      delayMs: h.session.tuning.modelStallTimeoutMs,
    });
    expect(wire(h.feed({ type: 'timer.fired', name: 'modelStall' }))).toContainEqual({
      type: 'model.reconnect',
      reason: 'model stalled',
    });
  });

  it(
    'an idle model is not a stall: it is probed (a session.update that changes nothing), ' +
      'and reconnected only if the probe goes unanswered',
    () => {
      const h = liveSession();
      const cmds = h.feedAll([responseCreated('r1'), responseDone('r1')]);
      expect(cmds.at(-1)).toEqual({
        type: 'timer.set',
        name: 'modelStall',
        delayMs: h.session.tuning.modelStallTimeoutMs,
      });
      const probe = h.feed({ type: 'timer.fired', name: 'modelStall' });
      expect(wire(probe)).toEqual([{ type: 'model.probe' }]);
      expect(probe).toContainEqual({
        type: 'timer.set',
        name: 'modelStall',
        delayMs: h.session.tuning.modelStallTimeoutMs,
      });
      // answered: alive, nothing happens but the next watch
      expect(wire(h.feed({ type: 'model.sessionUpdated', session: {} }))).toEqual([]);
      // unanswered (a model stalled while the caller talks): reconnect
      h.feed({ type: 'timer.fired', name: 'modelStall' });
      expect(wire(h.feed({ type: 'timer.fired', name: 'modelStall' }))).toContainEqual({
        type: 'model.reconnect',
        reason: 'model stalled',
      });
    },
  );

  it('Twilio stop closes the model socket at once and records the caller hanging up', () => {
    const h = liveSession();
    const cmds = h.feed({ type: 'twilio.stop' });
    expect(wire(cmds)).toEqual([{ type: 'model.close' }]);
    expect(cmds).toContainEqual(expect.objectContaining({ type: 'record.end', outcome: 'caller_hung_up' }));
    expect(h.feed(media(0))).toEqual([]);
    expect(h.session.phaseName).toBe('ended');
  });

  it('the socket closing without stop does the same', () => {
    const h = liveSession();
    expect(wire(h.feed({ type: 'twilio.closed', code: 1006 }))).toEqual([{ type: 'model.close' }]);
  });

  it('session renewal reconnects only while nothing is playing', () => {
    const h = liveSession();
    h.feed({
      type: 'model.sessionCreated',
      sessionId: 's1',
      model: 'gpt-realtime',
      expiresAtMs: h.clock.now() + 3_600_000,
    });
    const marks = markNames(
      h.feedAll([responseCreated('r1'), delta('r1', 'i1', 100), audioDone('r1', 'i1'), responseDone('r1')]),
    );
    expect(wire(h.feed({ type: 'timer.fired', name: 'sessionRenew' }))).toEqual([]);
    for (const n of marks) h.feed(mark(n));
    expect(wire(h.feed({ type: 'timer.fired', name: 'sessionRenew' }))).toEqual([
      { type: 'model.reconnect', reason: 'session renewal before the provider limit' },
    ]);
  });
});
