/**
 * Tools as a table (issue #15): the session carries out each tool's plan; a name the table
 * lacks never falls into another tool's branch; jobs of one response run side by side, the
 * model is asked to carry on once all have answered, and a barge-in cancels none of them.
 */
import { describe, expect, it } from 'vitest';

import type { CallCommand } from '../../../src/call/events.js';
import { builtinTools } from '../../../src/call/tools/registry.js';
import type { ToolEntry, ToolTable } from '../../../src/call/tools/tool.js';
import {
  audioDone,
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

const outputs = (cmds: CallCommand[]) =>
  cmds.flatMap((c) =>
    c.type === 'model.createItem' && c.item.kind === 'function_call_output'
      ? [JSON.parse(c.item.output) as unknown]
      : [],
  );
const rest = (cmds: CallCommand[]) => cmds.filter((c) => c.type.startsWith('rest.'));

/** A job tool, as the HTTP and MCP tools of the next issue will be: its work runs outside the session. */
const lookup: ToolEntry = {
  declaration: { name: 'lookup', description: 'Look something up.', parameters: { type: 'object' } },
  plan: () => ({ kind: 'job', run: () => Promise.resolve('{"found":true}') }),
};
const withLookup = (): ToolTable => new Map([...builtinTools(['hang_up', 'transfer_call']), ['lookup', lookup]]);

describe('unknown tools', () => {
  it.each([
    ['a name no tool has', 'launch_rocket', ['hang_up', 'transfer_call'] as const],
    ['a built-in the profile does not enable', 'transfer_call', ['hang_up'] as const],
  ])('%s gets an error output and no transfer, ever', (_what, name, tools) => {
    const h = liveSession({ profile: { tools: [...tools] } });
    const cmds = h.feedAll([responseCreated('r1'), delta('r1', 'i1', 100), functionCall('r1', name)]);
    expect(outputs(cmds)).toEqual([{ ok: false, error: `unknown tool ${name}` }]);
    const after = h.feedAll([audioDone('r1', 'i1'), responseDone('r1')]);
    expect(wire(after)).toContainEqual({ type: 'model.createResponse' });
    const played = markNames([...cmds, ...after]).flatMap((n) => h.feed(mark(n)));
    expect(rest([...cmds, ...after, ...played])).toEqual([]);
    expect(h.feed({ type: 'timer.fired', name: 'endFallback' })).toEqual([]);
    expect(h.session.phaseName).toBe('live');
  });

  it('the beta dialect names the tool only in output_item.added: the table still finds it', () => {
    const h = liveSession();
    h.feedAll([
      responseCreated('r1'),
      {
        type: 'model.outputItemAdded',
        responseId: 'r1',
        outputIndex: 0,
        item: {
          id: 'fc_1',
          type: 'function_call',
          role: null,
          status: null,
          name: 'transfer_call',
          callId: 'c1',
          arguments: null,
          text: null,
        },
      },
    ]);
    const cmds = h.feedAll([
      { type: 'model.functionCallDone', responseId: 'r1', itemId: 'fc_1', callId: 'c1', name: null, arguments: '{' },
      responseDone('r1'),
    ]);
    expect(rest(cmds)).toEqual([{ type: 'rest.transfer', to: '+15550000000' }]);
  });
});

describe('job tools', () => {
  it('two calls of one response start at once; the model carries on once both answered and the response ended', () => {
    const h = liveSession({ tools: withLookup() });
    const started = h.feedAll([
      responseCreated('r1'),
      functionCall('r1', 'lookup', '{}', 'c1'),
      functionCall('r1', 'lookup', '{}', 'c2'),
    ]);
    expect(started.filter((c) => c.type === 'tool.run').map((c) => (c as { callId: string }).callId)).toEqual([
      'c1',
      'c2',
    ]);
    expect(wire(h.feed(responseDone('r1')))).toEqual([]);
    const first = h.feed({ type: 'tool.done', callId: 'c2', output: '{"n":2}' });
    expect(wire(first)).toEqual([
      { type: 'model.createItem', item: { kind: 'function_call_output', callId: 'c2', output: '{"n":2}' } },
    ]);
    const second = h.feed({ type: 'tool.done', callId: 'c1', output: '{"n":1}' });
    expect(wire(second)).toEqual([
      { type: 'model.createItem', item: { kind: 'function_call_output', callId: 'c1', output: '{"n":1}' } },
      { type: 'model.createResponse' },
    ]);
  });

  it('a barge-in cancels the response, not the job: its output is still delivered and answered', () => {
    const h = liveSession({ tools: withLookup() });
    const cmds = h.feedAll([responseCreated('r1'), delta('r1', 'i1', 600), functionCall('r1', 'lookup')]);
    echoUpTo(h, markNames(cmds), 120);
    const bargeIn = wire(h.feed(speechStarted())).map((c) => c.type);
    expect(bargeIn).toEqual(['twilio.clear', 'model.cancelResponse', 'model.truncate']);
    h.feed(responseDone('r1', 'cancelled'));
    expect(wire(h.feed({ type: 'tool.done', callId: 'call_lookup', output: '{}' }))).toEqual([
      { type: 'model.createItem', item: { kind: 'function_call_output', callId: 'call_lookup', output: '{}' } },
      { type: 'model.createResponse' },
    ]);
  });

  it('a job still running when the model reconnects answers as text in the new session', () => {
    const h = liveSession({ tools: withLookup() });
    h.feedAll([responseCreated('r1'), functionCall('r1', 'lookup'), responseDone('r1')]);
    h.feed({ type: 'model.closed', code: 1006, reason: '', willRetry: true, retryInMs: 0 });
    h.feed({ type: 'model.open', reconnect: true });
    const done = wire(h.feed({ type: 'tool.done', callId: 'call_lookup', output: '{"found":true}' }));
    expect(done).toEqual([
      {
        type: 'model.createItem',
        item: {
          kind: 'message',
          role: 'system',
          text: 'Result of the lookup tool call you made before the connection was restored: {"found":true}',
        },
      },
      { type: 'model.createResponse' },
    ]);
  });

  it('a job whose response died with the socket still answers, and the model is asked to carry on', () => {
    const h = liveSession({ tools: withLookup() });
    h.feedAll([responseCreated('r1'), functionCall('r1', 'lookup')]);
    h.feed({ type: 'model.closed', code: 1006, reason: '', willRetry: true, retryInMs: 0 });
    h.feed({ type: 'model.open', reconnect: true });
    const done = wire(h.feed({ type: 'tool.done', callId: 'call_lookup', output: '{}' }));
    expect(done.map((c) => c.type)).toEqual(['model.createItem', 'model.createResponse']);
  });

  it('an output for no running call changes nothing', () => {
    const h = liveSession({ tools: withLookup() });
    expect(wire(h.feed({ type: 'tool.done', callId: 'nobody', output: '{}' }))).toEqual([]);
  });
});

describe('declarations', () => {
  it('session.update declares the table, in order', () => {
    const h = liveSession({ tools: withLookup() });
    expect(h.session.sessionConfig().tools.map((t) => t.name)).toEqual(['hang_up', 'transfer_call', 'lookup']);
  });
});

describe('MCP calls the provider runs (via: model)', () => {
  const mcpItem = (extra: { output?: string; error?: string }) => ({
    id: 'mcp_1',
    type: 'mcp_call',
    role: null,
    status: null,
    name: 'find_customer',
    callId: null,
    arguments: '{"phone":"+1555"}',
    text: null,
    mcp: { serverLabel: 'crm', output: extra.output ?? null, error: extra.error ?? null },
  });
  const added = { type: 'model.outputItemAdded', responseId: 'r1', outputIndex: 0, item: mcpItem({}) } as const;

  it('a call that ran is recorded via model and the model is asked to speak its result after the response', () => {
    const h = liveSession();
    h.feedAll([responseCreated('r1'), added]);
    const done = h.feedAll([
      { type: 'model.mcp', phase: 'mcp_call.completed', itemId: 'mcp_1', outputIndex: 0 },
      { type: 'model.outputItemDone', responseId: 'r1', outputIndex: 0, item: mcpItem({ output: 'Ada' }) },
    ]);
    expect(done.filter((c) => c.type === 'record.tool')).toEqual([
      {
        type: 'record.tool',
        name: 'find_customer',
        arguments: { phone: '+1555' },
        ok: true,
        ms: 0,
        atMs: expect.any(Number) as number,
        via: 'model',
      },
    ]);
    expect(wire(done)).not.toContainEqual({ type: 'model.createResponse' });
    expect(wire(h.feed(responseDone('r1')))).toContainEqual({ type: 'model.createResponse' });
  });

  it('a failed call is recorded not ok (and still answered); a cancelled one that never ran asks for nothing', () => {
    const failed = liveSession();
    failed.feedAll([responseCreated('r1'), added]);
    const cmds = failed.feedAll([
      { type: 'model.outputItemDone', responseId: 'r1', outputIndex: 0, item: mcpItem({ error: 'down' }) },
      responseDone('r1'),
    ]);
    expect(cmds.find((c) => c.type === 'record.tool')).toMatchObject({ ok: false, via: 'model' });
    expect(wire(cmds)).toContainEqual({ type: 'model.createResponse' });

    const cancelled = liveSession();
    cancelled.feedAll([responseCreated('r1'), added]);
    const none = cancelled.feedAll([
      { type: 'model.outputItemDone', responseId: 'r1', outputIndex: 0, item: mcpItem({}) },
      responseDone('r1', 'cancelled'),
    ]);
    expect(none.find((c) => c.type === 'record.tool')).toMatchObject({ ok: false });
    expect(wire(none)).not.toContainEqual({ type: 'model.createResponse' });
  });
});
