import { describe, expect, it } from 'vitest';

import {
  audioDone,
  delta,
  echoUpTo,
  liveSession,
  mark,
  markNames,
  responseCreated,
  responseDone,
  speechStarted,
  transcriptDone,
  wire,
  type SessionHarness,
} from '../../support/call-builders.js';

/** A response r1 with one item `i1` of `ms` audio, all sent; returns the mark names. */
function play(
  h: SessionHarness,
  ms: number,
  opts: { done?: boolean; responseId?: string; itemId?: string } = {},
): string[] {
  const r = opts.responseId ?? 'r1';
  const i = opts.itemId ?? 'i1';
  const cmds = h.feedAll([responseCreated(r), delta(r, i, ms)]);
  if (opts.done ?? false) cmds.push(...h.feedAll([audioDone(r, i), responseDone(r)]));
  return markNames(cmds);
}

describe('CallSession barge-in (SPEC §6.5)', () => {
  it('mid-item: clear, cancel the active response, truncate at played + cushion', () => {
    const h = liveSession();
    const marks = play(h, 1000);
    echoUpTo(h, marks, 300);
    const cmds = h.feed(speechStarted());
    expect(wire(cmds)).toEqual([
      { type: 'twilio.clear' },
      { type: 'model.cancelResponse', responseId: 'r1' },
      { type: 'model.truncate', itemId: 'i1', contentIndex: 0, audioEndMs: 350 },
    ]);
    expect(cmds).toContainEqual(expect.objectContaining({ type: 'record.bargeIn', truncatedItems: 1 }));
    expect(h.session.bargeInCount).toBe(1);
  });

  it('all three go out from one handle() call, clear first', () => {
    const h = liveSession();
    echoUpTo(h, play(h, 600), 120);
    const types = wire(h.feed(speechStarted())).map((c) => c.type);
    expect(types[0]).toBe('twilio.clear');
    expect(types).toEqual(['twilio.clear', 'model.cancelResponse', 'model.truncate']);
  });

  it('across two items: the heard one is truncated, the unheard one deleted', () => {
    const h = liveSession();
    const marks = markNames(
      h.feedAll([responseCreated('r1'), delta('r1', 'a', 400), audioDone('r1', 'a'), delta('r1', 'b', 600)]),
    );
    // echo only the first item's marks up to 200 ms
    const aMarks = marks.slice(0, 4); // 60,120,180,240
    echoUpTo(h, aMarks, 200);
    expect(wire(h.feed(speechStarted()))).toEqual([
      { type: 'twilio.clear' },
      { type: 'model.cancelResponse', responseId: 'r1' },
      { type: 'model.truncate', itemId: 'a', contentIndex: 0, audioEndMs: 230 },
      { type: 'model.deleteItem', itemId: 'b' },
    ]);
  });

  it('across two items: a fully played first item is left alone', () => {
    const h = liveSession();
    const marks = markNames(
      h.feedAll([responseCreated('r1'), delta('r1', 'a', 400), audioDone('r1', 'a'), delta('r1', 'b', 600)]),
    );
    // all of a (its end mark at 400) and 120 ms of b
    for (const n of marks.slice(0, 7)) h.feed(mark(n)); // a: 60..360 + end 400
    const bMarks = marks.slice(7);
    echoUpTo(h, bMarks, 120);
    expect(wire(h.feed(speechStarted()))).toEqual([
      { type: 'twilio.clear' },
      { type: 'model.cancelResponse', responseId: 'r1' },
      { type: 'model.truncate', itemId: 'b', contentIndex: 0, audioEndMs: 170 },
    ]);
  });

  it('after the response finished sending but before playout ended: clear + truncate, no cancel', () => {
    const h = liveSession();
    echoUpTo(h, play(h, 1000, { done: true }), 480);
    expect(wire(h.feed(speechStarted()))).toEqual([
      { type: 'twilio.clear' },
      { type: 'model.truncate', itemId: 'i1', contentIndex: 0, audioEndMs: 530 },
    ]);
  });

  it('after playout ended (every mark echoed): nothing is sent', () => {
    const h = liveSession();
    const marks = play(h, 1000, { done: true });
    for (const n of marks) h.feed(mark(n));
    expect(wire(h.feed(speechStarted()))).toEqual([]);
    expect(h.session.bargeInCount).toBe(0);
  });

  it('with nothing playing at all: nothing is sent (no cancel without an active response)', () => {
    const h = liveSession();
    expect(wire(h.feed(speechStarted()))).toEqual([]);
  });

  it('an active response that has sent no audio yet is left to the server VAD', () => {
    const h = liveSession();
    h.feed(responseCreated('r1'));
    expect(wire(h.feed(speechStarted()))).toEqual([]);
  });

  it('truncate never exceeds the audio sent for the item', () => {
    const h = liveSession();
    const marks = play(h, 300); // still streaming: item incomplete
    for (const n of marks) h.feed(mark(n)); // echoed through 300 = everything sent
    const truncate = wire(h.feed(speechStarted())).find((c) => c.type === 'model.truncate');
    expect(truncate).toEqual({ type: 'model.truncate', itemId: 'i1', contentIndex: 0, audioEndMs: 300 });
  });

  it('audio_end_ms is an integer even for odd cushions', () => {
    const h = liveSession({ tuning: { truncationCushionMs: 12.7 } });
    echoUpTo(h, play(h, 1000), 300);
    const truncate = wire(h.feed(speechStarted())).find((c) => c.type === 'model.truncate') as { audioEndMs: number };
    expect(truncate.audioEndMs).toBe(312);
  });

  it('marks echoed after clear move nothing, and later deltas of the cancelled response are dropped', () => {
    const h = liveSession();
    const marks = play(h, 1000);
    echoUpTo(h, marks, 300);
    h.feed(speechStarted());
    // Twilio echoes every pending mark on clear: they must not count as played
    for (const n of marks.filter((m) => Number(m.split(':').pop()) > 300)) expect(wire(h.feed(mark(n)))).toEqual([]);
    // late deltas of r1 produce no audio
    expect(h.feed(delta('r1', 'i1', 200)).filter((c) => c.type === 'twilio.media')).toEqual([]);
    h.feed(responseDone('r1', 'cancelled'));
    // the next response is accounted from zero in a new generation
    const next = play(h, 500, { responseId: 'r2', itemId: 'i2' });
    expect(next[0]).toMatch(/^g1:/);
    echoUpTo(h, next, 120);
    expect(wire(h.feed(speechStarted()))).toEqual([
      { type: 'twilio.clear' },
      { type: 'model.cancelResponse', responseId: 'r2' },
      { type: 'model.truncate', itemId: 'i2', contentIndex: 0, audioEndMs: 170 },
    ]);
    expect(h.session.bargeInCount).toBe(2);
  });

  it('a second speech_started right after a barge-in sends nothing more', () => {
    const h = liveSession();
    echoUpTo(h, play(h, 1000), 300);
    h.feed(speechStarted());
    expect(wire(h.feed(speechStarted()))).toEqual([]);
  });

  it('the stored assistant turn is cut to what the caller heard', () => {
    const h = liveSession();
    const cmds = h.feedAll([
      responseCreated('r1'),
      {
        type: 'model.transcriptDelta',
        responseId: 'r1',
        itemId: 'i1',
        contentIndex: 0,
        delta: 'one two three four five six seven eight nine ten',
      },
      delta('r1', 'i1', 1000),
    ]);
    echoUpTo(h, markNames(cmds), 450);
    const turn = h.feed(speechStarted()).find((c) => c.type === 'record.turn');
    expect(turn).toMatchObject({ role: 'assistant', truncated: true, text: 'one two three four …' });
    // the transcript.done that follows does not store it again
    expect(
      h
        .feed(transcriptDone('r1', 'i1', 'one two three four five six seven eight nine ten'))
        .filter((c) => c.type === 'record.turn'),
    ).toEqual([]);
  });
});

describe('stored assistant turns are what the caller heard', () => {
  it('an answer whose transcript is done is stored only once its audio has played out', () => {
    const h = liveSession();
    const cmds = h.feedAll([
      responseCreated('r1'),
      delta('r1', 'i1', 200),
      transcriptDone('r1', 'i1', 'We open at nine.'),
      audioDone('r1', 'i1'),
      responseDone('r1'),
    ]);
    expect(cmds.filter((c) => c.type === 'record.turn')).toEqual([]);
    const names = markNames(cmds);
    const stored = names.flatMap((n) => h.feed(mark(n))).filter((c) => c.type === 'record.turn');
    expect(stored).toEqual([
      expect.objectContaining({ role: 'assistant', text: 'We open at nine.', truncated: false }),
    ]);
  });

  it('an answer sent in full, then interrupted during playout, is stored cut, not in full', () => {
    const h = liveSession();
    const cmds = h.feedAll([
      responseCreated('r1'),
      delta('r1', 'i1', 1000),
      transcriptDone('r1', 'i1', 'one two three four five six seven eight nine ten'),
      audioDone('r1', 'i1'),
      responseDone('r1'),
    ]);
    echoUpTo(h, markNames(cmds), 450);
    const turns = h.feed(speechStarted()).filter((c) => c.type === 'record.turn');
    expect(turns).toEqual([
      expect.objectContaining({ role: 'assistant', truncated: true, text: 'one two three four …' }),
    ]);
  });

  it('at hang-up, a turn still playing is stored as far as it was heard', () => {
    const h = liveSession();
    const cmds = h.feedAll([
      responseCreated('r1'),
      delta('r1', 'i1', 1000),
      transcriptDone('r1', 'i1', 'one two three four five six seven eight nine ten'),
      audioDone('r1', 'i1'),
      responseDone('r1'),
    ]);
    echoUpTo(h, markNames(cmds), 480);
    const turns = h.feed({ type: 'twilio.stop' }).filter((c) => c.type === 'record.turn');
    expect(turns).toEqual([expect.objectContaining({ truncated: true, text: 'one two three four five …' })]);
  });
});

describe('greeting_interruptible: false', () => {
  it(
    'speech during the greeting is ignored; ' + 'once it has played, barge-in works and the server may interrupt again',
    () => {
      const h = liveSession({ profile: { greeting: 'Hello there.', greetingInterruptible: false } });
      const marks = markNames(h.feedAll([responseCreated('g1'), delta('g1', 'gi', 400)]));
      echoUpTo(h, marks, 120);
      expect(wire(h.feed(speechStarted()))).toEqual([]);
      const rest = markNames(h.feedAll([audioDone('g1', 'gi'), responseDone('g1')]));
      const afterAll = [...marks, ...rest]
        .filter((n) => Number(n.split(':').pop()) > 120)
        .flatMap((n) => h.feed(mark(n)));
      const update = afterAll.find((c) => c.type === 'model.updateSession') as
        { session: { turnDetection: { interruptResponse: boolean } } } | undefined;
      expect(update?.session.turnDetection.interruptResponse).toBe(true);
      echoUpTo(h, play(h, 600, { responseId: 'r2', itemId: 'i2' }), 120);
      expect(wire(h.feed(speechStarted())).map((c) => c.type)).toEqual([
        'twilio.clear',
        'model.cancelResponse',
        'model.truncate',
      ]);
    },
  );

  it('asks the server not to cancel the greeting on caller speech', () => {
    const h = liveSession({ profile: { greeting: 'Hello there.', greetingInterruptible: false } });
    expect(h.session.sessionConfig().turnDetection).toMatchObject({ interruptResponse: false, createResponse: true });
    expect(liveSession({ profile: { greeting: 'Hi.' } }).session.sessionConfig().turnDetection).toMatchObject({
      interruptResponse: true,
    });
  });
});
