/**
 * Silence handling (SPEC §11 `idle`) on a virtual clock: the session's timer commands are run
 * by the clock, so "after exactly after_ms from the heard end" is checked to the millisecond.
 */
import { describe, expect, it } from 'vitest';

import type { CallCommand, CallEvent, TimerName } from '../../../src/call/events.js';
import type { ToolTable } from '../../../src/call/tools/tool.js';
import type { TimerHandle } from '../../../src/util/clock.js';
import {
  audioDone,
  delta,
  functionCall,
  makeSession,
  markNames,
  mark,
  responseCreated,
  responseDone,
  speechStarted,
  start,
} from '../../support/call-builders.js';

const IDLE = { afterMs: 8_000, prompts: ['Are you still there?', 'Hello?'], endAfter: 2, goodbye: 'Bye for now.' };

/** `expect.stringContaining`, typed (the matcher is `any`) */
const stringContaining = (text: string): unknown => expect.stringContaining(text) as unknown;

const DRIVEN: readonly TimerName[] = ['idle', 'endFallback'];

/** A live session whose timers run on its virtual clock; every command is kept with its time. */
function idleCall(profile: Parameters<typeof makeSession>[0] = {}) {
  const h = makeSession({ profile: { idle: IDLE }, canUseRest: false, ...profile });
  const log: { atMs: number; cmd: CallCommand }[] = [];
  const timers = new Map<TimerName, TimerHandle>();
  const t0 = h.clock.now();
  const feed = (e: CallEvent): CallCommand[] => {
    const cmds = h.session.handle(e);
    for (const cmd of cmds) {
      log.push({ atMs: h.clock.now() - t0, cmd });
      if (cmd.type === 'timer.set' || cmd.type === 'timer.cancel') {
        const old = timers.get(cmd.name);
        if (old !== undefined) h.clock.clearTimer(old);
        timers.delete(cmd.name);
      }
      // the model here is a script: its stall watch and renewal are other tests' business
      if (cmd.type === 'timer.set' && DRIVEN.includes(cmd.name)) {
        const name = cmd.name;
        timers.set(
          name,
          h.clock.setTimer(cmd.delayMs, () => {
            timers.delete(name);
            feed({ type: 'timer.fired', name });
          }),
        );
      }
    }
    return cmds;
  };
  for (const e of [
    start(),
    { type: 'model.open', reconnect: false } as const,
    { type: 'model.sessionUpdated' } as const,
  ])
    feed(e);
  const at = () => h.clock.now() - t0;
  const prompts = () =>
    log.filter(
      (l) => l.cmd.type === 'model.createResponse' && (l.cmd.instructions ?? '').includes('silent for a while'),
    );
  /** The assistant says `ms` of audio in response `id`; returns the marks to echo. */
  const say = (id: string, ms: number): string[] => {
    const cmds = [
      responseCreated(id),
      delta(id, `item_${id}`, ms),
      audioDone(id, `item_${id}`),
      responseDone(id),
    ].flatMap(feed);
    return markNames(cmds);
  };
  return { h, feed, log, at, prompts, say, advance: (ms: number) => h.clock.advance(ms) };
}

describe('idle: prompts after exactly after_ms of silence the caller heard', () => {
  it('counts from the mark echo of the last audio, not from when the model finished sending it', () => {
    const c = idleCall();
    const marks = c.say('resp_1', 2_000); // sent at once, faster than real time
    c.advance(1_999);
    expect(c.prompts()).toHaveLength(0);
    // the caller hears the end 2 s later: the last mark echo
    for (const name of marks) c.feed(mark(name));
    const heardEnd = c.at();
    c.advance(IDLE.afterMs - 1);
    expect(c.prompts()).toHaveLength(0);
    c.advance(1);
    expect(c.prompts()).toHaveLength(1);
    expect(c.prompts()[0]!.atMs).toBe(heardEnd + IDLE.afterMs);
    expect(c.prompts()[0]!.cmd).toMatchObject({ instructions: stringContaining('"Are you still there?"') });
  });

  it('counts from speech_stopped when the caller spoke last and nothing answered', () => {
    const c = idleCall();
    c.advance(3_000);
    c.feed(speechStarted());
    c.advance(1_500);
    c.feed({ type: 'model.speechStopped', audioEndMs: 2_500, itemId: 'item_user_1' });
    const stopped = c.at();
    c.advance(IDLE.afterMs);
    expect(c.prompts().map((p) => p.atMs)).toEqual([stopped + IDLE.afterMs]);
  });

  it('re-prompts with the next prompt, then says the goodbye and ends: outcome idle_hang_up', () => {
    const c = idleCall();
    c.advance(IDLE.afterMs);
    expect(c.prompts()).toHaveLength(1);
    for (const m of c.say('resp_p1', 1_000)) c.feed(mark(m));
    c.advance(IDLE.afterMs);
    expect(c.prompts()).toHaveLength(2);
    expect(c.prompts()[1]!.cmd).toMatchObject({ instructions: stringContaining('"Hello?"') });
    for (const m of c.say('resp_p2', 1_000)) c.feed(mark(m));
    c.advance(IDLE.afterMs);
    // end_after (2) prompts unanswered: the goodbye, no third prompt
    expect(c.prompts()).toHaveLength(2);
    const goodbye = c.log.filter(
      (l) => l.cmd.type === 'model.createResponse' && (l.cmd.instructions ?? '').includes('"Bye for now."'),
    );
    expect(goodbye).toHaveLength(1);
    expect(c.h.session.outcome).toBeNull();
    const marks = c.say('resp_bye', 1_500);
    expect(c.h.session.outcome).toBeNull(); // waits for the goodbye to be heard
    for (const m of marks) c.feed(mark(m));
    expect(c.h.session.outcome).toBe('idle_hang_up');
  });

  it('a caller who answers a prompt resets the count', () => {
    const c = idleCall();
    c.advance(IDLE.afterMs);
    for (const m of c.say('resp_p1', 500)) c.feed(mark(m));
    c.feed(speechStarted());
    c.feed({ type: 'model.speechStopped', audioEndMs: 2_500, itemId: 'item_user_1' });
    for (const m of c.say('resp_answer', 500)) c.feed(mark(m));
    c.advance(IDLE.afterMs);
    // the first prompt again, not the second
    expect(c.prompts()).toHaveLength(2);
    expect(c.prompts()[1]!.cmd).toMatchObject({ instructions: stringContaining('"Are you still there?"') });
  });
});

describe('idle: never while a tool runs, the assistant speaks or the caller talks', () => {
  it('no prompt while a tool job runs, however long; the count starts when its answer has been heard', () => {
    const tools: ToolTable = new Map([
      [
        'slow',
        {
          declaration: { name: 'slow', description: 'slow', parameters: {} },
          plan: () => ({ kind: 'job' as const, run: () => new Promise<string>(() => undefined) }),
        },
      ],
    ]);
    const c = idleCall({ profile: { idle: IDLE }, canUseRest: false, tools });
    c.feed(responseCreated('resp_t'));
    c.feed(functionCall('resp_t', 'slow', '{}', 'call_1'));
    c.feed(responseDone('resp_t'));
    c.advance(IDLE.afterMs * 5);
    expect(c.prompts()).toHaveLength(0);
    c.feed({ type: 'tool.done', callId: 'call_1', output: '{"ok":true}' });
    const marks = c.say('resp_after', 1_000);
    c.advance(IDLE.afterMs * 2);
    expect(c.prompts()).toHaveLength(0); // its audio is not heard yet
    for (const m of marks) c.feed(mark(m));
    const heard = c.at();
    c.advance(IDLE.afterMs);
    expect(c.prompts().map((p) => p.atMs)).toEqual([heard + IDLE.afterMs]);
  });

  it('no prompt while assistant audio is still playing or the caller is speaking', () => {
    const c = idleCall();
    c.say('resp_long', 30_000); // marks never echoed: the caller is still hearing it
    c.advance(IDLE.afterMs * 3);
    expect(c.prompts()).toHaveLength(0);
    const d = idleCall();
    d.feed(speechStarted());
    d.advance(IDLE.afterMs * 3);
    expect(d.prompts()).toHaveLength(0);
  });

  it('without idle in the profile nothing is ever prompted', () => {
    const c = idleCall({ profile: {}, canUseRest: false });
    c.advance(IDLE.afterMs * 10);
    expect(c.log.some((l) => l.cmd.type === 'timer.set' && l.cmd.name === 'idle')).toBe(false);
  });
});
