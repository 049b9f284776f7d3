/**
 * MCP servers through the provider (SPEC §9 `via: model`, PROTOCOLS.md §10.3) against a real
 * MCP server built with the SDK on port 0. The bridge passes the server to the realtime API as
 * a GA `type: "mcp"` tool; the emulator, like the real API, is the MCP client: it lists the
 * server's tools and, on the script's turn, calls one and streams the documented events. The
 * bridge parses those events (none is unknown to it), stores the call on the record with
 * `via: "model"`, asks for a response so the result is spoken, and keeps the header's secret
 * out of the recording.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { parseEmulatorScript, scriptResponder } from '../../src/emulator/script.js';
import { parseServerEventObject } from '../../src/protocol/realtime-codec.js';
import { callerClip, silence, startCallHarness, until } from '../support/call-harness.js';
import { startMcpServer } from '../support/mcp-server.js';

const CRM_TOKEN = 'crm-model-token-never-recorded-4711';
process.env['CRM_MODEL_TOKEN'] = CRM_TOKEN;

const crm = await startMcpServer([
  {
    name: 'find_customer',
    description: 'Find a customer by phone number',
    inputSchema: { phone: z.string() },
    run: (args) => ({ content: [{ type: 'text', text: `Customer ${String(args['phone'])}: Ada Lovelace` }] }),
  },
  {
    name: 'delete_everything',
    description: 'Not allowed',
    inputSchema: {},
    run: () => ({ content: [{ type: 'text', text: 'deleted' }] }),
  },
]);

const NUMBERS = `
defaults:
  instructions: CRM line.
  voice: alloy
  tools: [hang_up]
  mcp_servers:
    - label: crm
      url: ${crm.url}
      via: model
      allowed_tools: [find_customer]
      headers: { Authorization: "Bearer \${env:CRM_MODEL_TOKEN}" }
`;

const SCRIPT = parseEmulatorScript(
  `
turns:
  - turn: 1
    call:
      - { name: find_customer, arguments: { phone: "+15557654321" } }
    then: done
`,
  'script.yaml',
);

describe('MCP via model', async () => {
  const h = await startCallHarness({
    numbersYaml: NUMBERS,
    env: { RECORD_CALLS: 'true' },
    emulator: { responder: scriptResponder(SCRIPT) },
  });

  it(
    'passes the server as a type "mcp" tool; the provider lists and calls it; the call is stored via model',
    { timeout: 30_000 },
    async () => {
      const sessionP = h.emulator.nextSession();
      const phone = h.phone({
        to: '+15551230001',
        from: '+15557654321',
        callerAudio: Buffer.concat([silence(300), callerClip('caller_hours.ulaw8k.wav'), silence(8_000)]),
      });
      await phone.dial();
      const session = await sessionP;

      const update = await session.waitForReceived('session.update');
      const tools = (update.wire['session'] as { tools: Record<string, unknown>[] }).tools;
      expect(tools.map((t) => t['type'])).toEqual(['function', 'mcp']);
      expect(tools[1]).toEqual({
        type: 'mcp',
        server_label: 'crm',
        server_url: crm.url,
        allowed_tools: ['find_customer'],
        headers: { Authorization: `Bearer ${CRM_TOKEN}` },
        require_approval: 'never',
      });

      // the provider (the emulator) listed the server with the header, filtered by allowed_tools
      const listed = await session.waitForSent(
        'conversation.item.done',
        (r) => (r.wire['item'] as { type?: string }).type === 'mcp_list_tools',
      );
      expect((listed.wire['item'] as { tools: { name: string }[] }).tools.map((t) => t.name)).toEqual([
        'find_customer',
      ]);
      expect(crm.headers.every((hd) => hd['authorization'] === `Bearer ${CRM_TOKEN}`)).toBe(true);

      // on the caller's turn the provider calls the tool, in the documented order
      const done = await session.waitForSent(
        'response.output_item.done',
        (r) => (r.wire['item'] as { type?: string }).type === 'mcp_call',
      );
      expect(done.wire['item']).toMatchObject({
        type: 'mcp_call',
        server_label: 'crm',
        name: 'find_customer',
        arguments: '{"phone":"+15557654321"}',
        output: 'Customer +15557654321: Ada Lovelace',
        error: null,
      });
      expect(crm.calls).toEqual([{ name: 'find_customer', arguments: { phone: '+15557654321' } }]);
      const itemId = (done.wire['item'] as { id: string }).id;
      const mcpEvents = session.sent
        .filter((r) => r.type.includes('mcp_call') || (r.wire['item'] as { id?: string } | undefined)?.id === itemId)
        .map((r) => r.type);
      expect(mcpEvents.filter((t, i) => t !== mcpEvents[i - 1])).toEqual([
        'response.output_item.added',
        'conversation.item.added',
        'response.mcp_call_arguments.delta',
        'response.mcp_call_arguments.done',
        'response.mcp_call.in_progress',
        'response.mcp_call.completed',
        'response.output_item.done',
        'conversation.item.done',
      ]);
      // every MCP event parses to the bridge's own vocabulary: none is unknown or garbage
      for (const r of session.sent.filter((e) => e.type.includes('mcp_')))
        expect(parseServerEventObject(r.wire, 'ga')).toMatchObject({ ok: true, event: { type: 'model.mcp' } });

      // the result is not spoken by itself: the bridge asks for a response after the call's response
      const responseDone = await session.waitForSent(
        'response.done',
        (r) => session.sent.indexOf(r) > session.sent.indexOf(done),
      );
      await session.waitForReceived('response.create', (r) => r.atMs >= responseDone.atMs);

      await phone.hangUp();
      await until(() => h.bridge.activeCalls === 0, 10_000, 'the call to end');
      await h.bridge.calls.flush(2_000);
      const record = (await (await fetch(`${h.url}/api/calls/${phone.callSid}`)).json()) as {
        tools: { name: string; arguments: unknown; ok: boolean; ms: number; via: string }[];
      };
      expect(record.tools).toHaveLength(1);
      expect(record.tools[0]).toMatchObject({
        name: 'find_customer',
        arguments: { phone: '+15557654321' },
        ok: true,
        via: 'model',
      });
      expect(record.tools[0]!.ms).toBeGreaterThanOrEqual(0);
      expect(JSON.stringify(record)).not.toContain(CRM_TOKEN);

      const recordings = path.join(h.dir, 'data', 'recordings');
      const file = readdirSync(recordings).find((f) => f.startsWith(phone.callSid) && f.endsWith('.jsonl'));
      const text = readFileSync(path.join(recordings, file!), 'utf8');
      expect(text).toContain('response.mcp_call.completed');
      expect(text).not.toContain(CRM_TOKEN);
    },
  );
});
