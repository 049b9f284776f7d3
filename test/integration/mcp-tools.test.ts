/**
 * MCP servers through the bridge (SPEC §9 `via: bridge`) against a real MCP server built with
 * the SDK on port 0: the bridge lists its tools at call start (filtered by `allowed_tools`,
 * names mapped where they are not valid function names), offers them as functions, calls
 * them like HTTP tools and records them. A server that is down leaves its tools out and the
 * call goes on.
 */
import { createServer } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

import type { EmulatorSession } from '../../src/emulator/emulator-session.js';
import { callerClip, silence, startCallHarness, until } from '../support/call-harness.js';
import { startMcpServer } from '../support/mcp-server.js';
import { toolOutputOf } from '../support/tool-backend.js';

const CRM_TOKEN = 'crm-token-never-shown-0123';
process.env['CRM_TOKEN'] = CRM_TOKEN;

const crm = await startMcpServer([
  {
    name: 'find_customer',
    description: 'Find a customer by phone number',
    inputSchema: { phone: z.string() },
    run: (args) => ({ content: [{ type: 'text', text: `Customer ${String(args['phone'])}: Ada Lovelace` }] }),
  },
  {
    name: 'orders.lookup.by_number',
    description: 'Look up an order',
    inputSchema: { number: z.number() },
    run: (args) => ({
      content: [{ type: 'text', text: 'ignored when structured content is present' }],
      structuredContent: { order: args['number'], status: 'shipped' },
    }),
  },
  {
    name: 'refund',
    description: 'Refund an order',
    inputSchema: { number: z.number() },
    run: () => ({ content: [{ type: 'text', text: 'refunds need a supervisor' }], isError: true }),
  },
  {
    name: 'slow_search',
    description: 'Never answers in time',
    inputSchema: {},
    run: () => new Promise(() => undefined),
  },
  {
    name: 'delete_everything',
    description: 'Not allowed',
    inputSchema: {},
    run: () => ({ content: [{ type: 'text', text: 'deleted' }] }),
  },
]);

/** A port with nothing listening: a server that is down. */
const downPort = await new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});

const NUMBERS = `
defaults:
  instructions: CRM line.
  voice: alloy
  tools: [hang_up]
  mcp_servers:
    - label: crm
      url: ${crm.url}
      allowed_tools: [find_customer, orders.lookup.by_number, refund, slow_search]
      headers: { Authorization: "Bearer \${env:CRM_TOKEN}" }
      timeout_ms: 500
    - label: down
      url: http://127.0.0.1:${downPort}/mcp
`;

describe('MCP via bridge', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS });
  const open: { hangUp(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const phone of open.splice(0)) await phone.hangUp().catch(() => undefined);
    await until(() => h.bridge.activeCalls === 0, 10_000, 'the calls to end');
  });

  async function dial(): Promise<{ session: EmulatorSession; callSid: string; hangUp: () => Promise<void> }> {
    const sessionP = h.emulator.nextSession();
    const phone = h.phone({
      to: '+15551230001',
      from: '+15557654321',
      callerAudio: Buffer.concat([silence(300), callerClip('caller_hours.ulaw8k.wav'), silence(8_000)]),
    });
    open.push(phone);
    await phone.dial();
    return {
      session: await sessionP,
      callSid: phone.callSid,
      hangUp: async () => {
        await phone.hangUp();
        await until(() => h.bridge.activeCalls === 0, 10_000, 'the call to end');
      },
    };
  }

  it(
    'lists the allowed tools (names mapped), calls them with the headers, outputs then one response.create',
    { timeout: 30_000 },
    async () => {
      const { session, callSid, hangUp } = await dial();
      await session.waitForReceived('session.update');
      const declared = session.sessionConfig['tools'] as { name: string; description: string; parameters: object }[];
      expect(declared.map((t) => t.name)).toEqual([
        'hang_up',
        'find_customer',
        'orders_lookup_by_number',
        'refund',
        'slow_search',
      ]);
      expect(declared[1]).toMatchObject({
        description: 'Find a customer by phone number',
        parameters: { type: 'object', properties: { phone: { type: 'string' } }, required: ['phone'] },
      });
      session.queueResponse(
        { kind: 'toolCall', name: 'find_customer', arguments: { phone: '+15557654321' }, callId: 'c1' },
        { kind: 'toolCall', name: 'orders_lookup_by_number', arguments: { number: 42 }, callId: 'c2' },
        { kind: 'toolCall', name: 'refund', arguments: { number: 42 }, callId: 'c3' },
        { kind: 'toolCall', name: 'slow_search', arguments: {}, callId: 'c4' },
      );
      expect(await toolOutputOf(session, 'c1')).toBe('Customer +15557654321: Ada Lovelace');
      expect(await toolOutputOf(session, 'c2')).toBe('{"order":42,"status":"shipped"}');
      expect(JSON.parse(await toolOutputOf(session, 'c3'))).toEqual({ ok: false, error: 'refunds need a supervisor' });
      expect(JSON.parse(await toolOutputOf(session, 'c4'))).toEqual({
        ok: false,
        error: 'the MCP server did not answer within 500 ms',
      });
      // the server got its own names back, and the configured header with the variable read
      expect(crm.calls.map((c) => c.name)).toEqual(
        expect.arrayContaining(['find_customer', 'orders.lookup.by_number', 'refund', 'slow_search']),
      );
      expect(crm.calls.some((c) => c.name === 'delete_everything')).toBe(false);
      expect(crm.headers.every((hd) => hd['authorization'] === `Bearer ${CRM_TOKEN}`)).toBe(true);
      // one response.create after the last output
      const lastOutput = Math.max(
        ...['c1', 'c2', 'c3', 'c4'].map((id) =>
          session.received.findIndex((r) => (r.wire['item'] as { call_id?: string } | undefined)?.call_id === id),
        ),
      );
      await session.waitForReceived('response.create', (r) => session.received.indexOf(r) > lastOutput);
      await hangUp();
      await h.bridge.calls.flush(2_000);
      const record = (await (await fetch(`${h.url}/api/calls/${callSid}`)).json()) as {
        tools: { name: string; ok: boolean; via: string }[];
      };
      expect(record.tools.map((t) => [t.name, t.ok, t.via])).toEqual([
        ['find_customer', true, 'bridge'],
        ['orders_lookup_by_number', true, 'bridge'],
        ['refund', false, 'bridge'],
        ['slow_search', false, 'bridge'],
      ]);
      expect(JSON.stringify(record)).not.toContain(CRM_TOKEN);
    },
  );

  it('a second call reuses the listing (short TTL): the server is not listed again', { timeout: 20_000 }, async () => {
    const before = crm.listings();
    expect(before).toBeGreaterThan(0);
    const { session } = await dial();
    await session.waitForReceived('session.update');
    expect((session.sessionConfig['tools'] as { name: string }[]).map((t) => t.name)).toContain('find_customer');
    expect(crm.listings()).toBe(before);
  });
});
