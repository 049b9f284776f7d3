import { describe, expect, it } from 'vitest';

import type { CallCommand } from '../../../src/call/events.js';
import { ToolCalls, waitInstructions } from '../../../src/call/tool-calls.js';

const run = () => Promise.resolve('{}');

describe('ToolCalls: one response.create per response, once every call has its output', () => {
  it('an output that asks the model to carry on does so once the response is done', () => {
    const t = new ToolCalls();
    expect(t.answer('r1', 'c1', '{"ok":true}', true)).toEqual({
      type: 'model.createItem',
      item: { kind: 'function_call_output', callId: 'c1', output: '{"ok":true}' },
    });
    expect(t.responseDone('r1')).toBe(true);
    expect(t.responseDone('r1')).toBe(false); // once
  });

  it('outputs that do not ask (hang-up, DTMF tones) never make the model carry on', () => {
    const t = new ToolCalls();
    t.answer('r1', 'c1', '{}', false);
    expect(t.responseDone('r1')).toBe(false);
  });

  it('jobs of one response run side by side; the model carries on after the last output and the response end', () => {
    const t = new ToolCalls();
    expect(t.start('r1', 'c1', 'lookup', { run }, 0)).toMatchObject([
      { type: 'tool.run', callId: 'c1', name: 'lookup' },
    ]);
    t.start('r1', 'c2', 'lookup', { run }, 0);
    expect(t.responseDone('r1')).toBe(false); // two jobs still running
    expect(t.jobDone('c2', '"b"')).toMatchObject({ respond: false });
    expect(t.jobDone('c1', '"a"')).toEqual({
      send: { type: 'model.createItem', item: { kind: 'function_call_output', callId: 'c1', output: '"a"' } },
      respond: true,
    });
  });

  it('an output that arrives before the response ends waits for it', () => {
    const t = new ToolCalls();
    t.start('r1', 'c1', 'lookup', { run }, 0);
    expect(t.jobDone('c1', '{}')?.respond).toBe(false);
    expect(t.responseDone('r1')).toBe(true);
  });

  it('a stray or repeated output is not a call of this session', () => {
    const t = new ToolCalls();
    expect(t.jobDone('nope', '{}')).toBeNull();
    t.start('r1', 'c1', 'lookup', { run }, 0);
    t.jobDone('c1', '{}');
    expect(t.jobDone('c1', '{}')).toBeNull();
  });

  it('after a reconnect, a job of the old session answers as text (its call item is gone)', () => {
    const t = new ToolCalls();
    t.start('r1', 'c1', 'lookup', { run }, 0);
    t.responseDone('r1');
    t.sessionLost();
    expect(t.jobDone('c1', '{"slot":"9:00"}')).toEqual({
      send: {
        type: 'model.createItem',
        item: {
          kind: 'message',
          role: 'system',
          text: 'Result of the lookup tool call you made before the connection was restored: {"slot":"9:00"}',
        },
      },
      respond: true,
    });
  });
});

describe('ToolCalls: no dead air while a job runs (wait_message)', () => {
  const quiet = { busy: false, pendingMs: () => 0 };
  const wait = { message: 'One moment.', afterMs: 1_000 };

  it('a job with a wait message arms the timer for wait_after_ms; when due and quiet, the message is said once', () => {
    const t = new ToolCalls();
    expect(t.start('r1', 'c1', 'lookup', { run, wait }, 5_000)).toEqual([
      { type: 'tool.run', callId: 'c1', name: 'lookup', run },
      { type: 'timer.set', name: 'toolWait', delayMs: 1_000 },
    ]);
    const out: CallCommand[] = [];
    t.waitDue(6_000, null, quiet, out);
    expect(out).toEqual([{ type: 'model.createResponse', instructions: waitInstructions('One moment.') }]);
    const later: CallCommand[] = [];
    t.waitDue(7_000, null, quiet, later);
    expect(later).toEqual([]);
  });

  it('while the caller hears the assistant, the wait moves to wait_after_ms after that audio ends', () => {
    const t = new ToolCalls();
    t.start('r1', 'c1', 'lookup', { run, wait }, 0);
    const out: CallCommand[] = [];
    t.waitDue(1_000, null, { busy: true, pendingMs: () => 2_500 }, out);
    expect(out).toEqual([{ type: 'timer.set', name: 'toolWait', delayMs: 3_500 }]);
    // a response in progress (not heard yet) also holds it
    const held: CallCommand[] = [];
    t.waitDue(4_500, 'r2', quiet, held);
    expect(held).toEqual([{ type: 'timer.set', name: 'toolWait', delayMs: 1_000 }]);
    const said: CallCommand[] = [];
    t.waitDue(5_500, null, quiet, said);
    expect(said).toEqual([{ type: 'model.createResponse', instructions: waitInstructions('One moment.') }]);
  });

  it('a job that answers first is never waited for', () => {
    const t = new ToolCalls();
    t.start('r1', 'c1', 'lookup', { run, wait }, 0);
    t.jobDone('c1', '{}');
    const out: CallCommand[] = [];
    t.waitDue(1_000, null, quiet, out);
    expect(out).toEqual([]);
  });
});
