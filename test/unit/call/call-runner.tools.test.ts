/**
 * The runner runs tool jobs outside the session (the only async glue): jobs of one response
 * run at the same time, each output comes back as a `tool.done` event, and a job that fails
 * is answered with a short error — no stack, no message that could carry a secret.
 */
import { describe, expect, it, vi } from 'vitest';

import { CallRunner, type ModelLink } from '../../../src/call/call-runner.js';
import type { ModelCommand, ModelEvent, ModelLinkEvent } from '../../../src/protocol/realtime.js';
import { silentLogger } from '../../../src/util/logger.js';
import type { ToolEntry } from '../../../src/call/tools/tool.js';
import { builtinTools } from '../../../src/call/tools/registry.js';
import { functionCall, makeSession, responseCreated, responseDone, start } from '../../support/call-builders.js';

describe('CallRunner and tool jobs', () => {
  it('runs the jobs of a response side by side and delivers each output; a failed job gets a short error', async () => {
    const gates: { resolve: (v: string) => void }[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const slow: ToolEntry = {
      declaration: { name: 'slow', description: 'Slow.', parameters: { type: 'object' } },
      plan: () => ({
        kind: 'job',
        run: () =>
          new Promise<string>((resolve) => {
            mostAtOnce = Math.max(mostAtOnce, ++running);
            gates.push({
              resolve: (v) => {
                running--;
                resolve(v);
              },
            });
          }),
      }),
    };
    const broken: ToolEntry = {
      declaration: { name: 'broken', description: 'Fails.', parameters: { type: 'object' } },
      plan: () => ({ kind: 'job', run: () => Promise.reject(new Error('GET https://x?token=s3cret: 500')) }),
    };
    const h = makeSession({ tools: new Map([...builtinTools([]), ['slow', slow], ['broken', broken]]) });
    const sent: ModelCommand[] = [];
    let modelEvents: ((e: ModelEvent | ModelLinkEvent) => void) | null = null;
    const link: ModelLink = {
      connect: () => modelEvents?.({ type: 'model.open', reconnect: false }),
      send: (cmd) => sent.push(cmd) > 0,
      reconnect: () => undefined,
      close: () => undefined,
    };
    const runner = new CallRunner({
      callSid: 'CA1',
      session: h.session,
      twilio: { execute: () => undefined, close: () => undefined },
      createModelLink: (onEvent) => {
        modelEvents = onEvent;
        return link;
      },
      control: null,
      clock: h.clock,
      logger: silentLogger(),
    });
    runner.dispatch(start());
    runner.dispatch(responseCreated('r1'));
    runner.dispatch(functionCall('r1', 'slow', '{}', 'a'));
    runner.dispatch(functionCall('r1', 'slow', '{}', 'b'));
    runner.dispatch(functionCall('r1', 'broken', '{}', 'c'));
    runner.dispatch(responseDone('r1'));
    expect(mostAtOnce).toBe(2);
    gates[1]!.resolve('"second"');
    gates[0]!.resolve('"first"');
    const outputs = () =>
      sent.flatMap((c) =>
        c.type === 'model.createItem' && c.item.kind === 'function_call_output' ? [[c.item.callId, c.item.output]] : [],
      );
    await vi.waitFor(() => expect(outputs()).toHaveLength(3));
    expect(outputs()).toEqual([
      ['c', '{"ok":false,"error":"the tool failed"}'],
      ['b', '"second"'],
      ['a', '"first"'],
    ]);
    expect(sent.filter((c) => c.type === 'model.createResponse')).toHaveLength(1);
    expect(sent.at(-1)).toEqual({ type: 'model.createResponse' });
  });
});
