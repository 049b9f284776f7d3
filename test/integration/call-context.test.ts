/**
 * Per-call context end to end (SPEC §10): the bridge POSTs the signed call to the profile's
 * `context_url` when the webhook arrives, applies the answer to that call (instructions
 * appended, greeting replaced, `{{name}}` filled), and hands its variables to tool backends.
 * A slow or failing context service never blocks the call: the plain profile is used and the
 * call record says what happened. The signature is checked with an independent HMAC.
 */
import { createHmac } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import type { EmulatorSession } from '../../src/emulator/emulator-session.js';
import { callerClip, silence, startCallHarness, until } from '../support/call-harness.js';
import { startToolBackend, type BackendRequest } from '../support/tool-backend.js';

const SECRET = 'context-signing-secret-0123456789';
const backend = await startToolBackend();

const TOOL = `
    - name: lookup_appointment
      http: { url: "${backend.url}/lookup" }`;
const NUMBERS = `
defaults:
  instructions: Clinic line.
  greeting: Hello from the clinic.
  voice: alloy
  tools: [hang_up]
numbers:
  "+15551230001":
    context_url: ${backend.url}/context
    context_timeout_ms: 1000
    tools:${TOOL}
  "+15551230002":
    context_url: ${backend.url}/slow-context
    context_timeout_ms: 300
    instructions: Plain instructions for {{caller_number}}.
  "+15551230003":
    context_url: ${backend.url}/broken-context
`;

backend.on('/context', (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      variables: { first_name: 'Ada', plan: 'gold' },
      instructions: 'The caller is {{first_name}} on the {{plan}} plan, calling from {{caller_number}}; {{nothing}}.',
      greeting: 'Hi {{first_name}}, welcome back!',
    }),
  );
});
backend.on('/slow-context', () => {
  // never answers: the call must start without it
});
backend.on('/broken-context', (_req, res) => res.writeHead(500).end(`stack at ${SECRET}`));
backend.on('/lookup', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));

function verify(req: BackendRequest): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['x-bridge-signature']));
  if (match === null) return false;
  const expected = createHmac('sha256', SECRET).update(`${match[1]}.${req.body}`).digest('hex');
  return expected === match[2] && Math.abs(Date.now() / 1000 - Number(match[1])) <= 300;
}

interface Record {
  context: { ok: boolean; ms: number; error?: string } | null;
}

describe('per-call context', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS, env: { BRIDGE_SIGNING_SECRET: SECRET } });
  const open: { hangUp(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const phone of open.splice(0)) await phone.hangUp().catch(() => undefined);
    await until(() => h.bridge.activeCalls === 0, 10_000, 'the calls to end');
  });

  async function dial(to: string): Promise<{ session: EmulatorSession; callSid: string; dialledAt: number }> {
    const sessionP = h.emulator.nextSession();
    const phone = h.phone({
      to,
      from: '+15557654321',
      callerAudio: Buffer.concat([silence(300), callerClip('caller_hours.ulaw8k.wav'), silence(8_000)]),
    });
    open.push(phone);
    const dialledAt = performance.now();
    await phone.dial();
    return { session: await sessionP, callSid: phone.callSid, dialledAt };
  }

  async function recordOf(callSid: string): Promise<Record> {
    await h.bridge.calls.flush(2_000);
    return (await (await fetch(`${h.url}/api/calls/${callSid}`)).json()) as Record;
  }

  /** The instructions of the greeting's `response.create`. */
  async function greetingOf(session: EmulatorSession): Promise<string> {
    const rec = await session.waitForReceived('response.create');
    return String((rec.wire['response'] as { instructions?: string }).instructions);
  }

  it(
    'POSTs the signed call at the webhook; instructions appended, greeting replaced, placeholders filled',
    { timeout: 20_000 },
    async () => {
      const { session, callSid } = await dial('+15551230001');
      await session.waitForReceived('session.update');
      expect(session.sessionConfig['instructions']).toBe(
        'Clinic line.\n\nThe caller is Ada on the gold plan, calling from +15557654321; .',
      );
      expect(await greetingOf(session)).toContain('Hi Ada, welcome back!');
      const req = backend.to('/context').at(-1)!;
      expect(req.method).toBe('POST');
      expect(req.headers['content-type']).toBe('application/json');
      expect(verify(req)).toBe(true);
      expect(JSON.parse(req.body)).toEqual({
        call: { callSid, from: '+15557654321', to: '+15551230001', profile: '+15551230001', direction: 'inbound' },
      });

      session.queueResponse({ kind: 'toolCall', name: 'lookup_appointment', arguments: {}, callId: 'call_ctx' });
      await until(() => backend.to('/lookup').length > 0, 15_000, 'the tool request');
      const body = JSON.parse(backend.to('/lookup').at(-1)!.body) as { call: { variables: unknown } };
      expect(body.call.variables).toEqual({
        first_name: 'Ada',
        plan: 'gold',
        caller_number: '+15557654321',
        called_number: '+15551230001',
      });
      const record = await recordOf(callSid);
      expect(record.context?.ok).toBe(true);
      expect(record.context?.ms).toBeGreaterThanOrEqual(0);
      expect(record.context?.ms).toBeLessThan(1000);
    },
  );

  it(
    'a context service that never answers: the call starts on time with the plain profile',
    { timeout: 20_000 },
    async () => {
      const { session, callSid, dialledAt } = await dial('+15551230002');
      await session.waitForReceived('session.update');
      const startedAfter = performance.now() - dialledAt;
      // the webhook asked, so the 300 ms wait overlapped the TwiML round trip; generous margin for a loaded machine
      expect(startedAfter).toBeLessThan(300 + 1_500);
      expect(session.sessionConfig['instructions']).toBe('Plain instructions for +15557654321.');
      expect(await greetingOf(session)).toContain('Hello from the clinic.');
      const record = await recordOf(callSid);
      expect(record.context).toMatchObject({ ok: false, error: 'no answer within 300 ms' });
      expect(record.context!.ms).toBeGreaterThanOrEqual(300);
    },
  );

  it('a failing context service: plain profile, and the record says why (no secret)', { timeout: 20_000 }, async () => {
    const { session, callSid } = await dial('+15551230003');
    await session.waitForReceived('session.update');
    expect(session.sessionConfig['instructions']).toBe('Clinic line.');
    expect(await greetingOf(session)).toContain('Hello from the clinic.');
    const record = await recordOf(callSid);
    expect(record.context).toMatchObject({ ok: false, error: 'the context service answered HTTP 500' });
    expect(JSON.stringify(record)).not.toContain(SECRET);
  });

  it('a profile without context_url has no context on its record', { timeout: 20_000 }, async () => {
    const { session, callSid } = await dial('+15559999999');
    await session.waitForReceived('session.update');
    expect((await recordOf(callSid)).context).toBeNull();
  });
});
