/**
 * examples/backend end to end: the bridge calls its context and tool endpoints, signed, and
 * the example answers; a request without a valid signature is refused.
 */
import type { AddressInfo } from 'node:net';

import { afterAll, describe, expect, it } from 'vitest';

import { startExampleBackend } from '../../examples/backend/server.js';
import { callerClip, silence, startCallHarness, until } from '../support/call-harness.js';

const SECRET = 'example-backend-secret-0123456789';
const server = await startExampleBackend(SECRET, 0);
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const NUMBERS = `
defaults:
  instructions: Booking line.
  greeting: Hello.
  voice: alloy
  context_url: ${base}/context
  tools:
    - name: lookup_appointment
      parameters: { type: object, properties: { date_of_birth: { type: string } }, required: [date_of_birth] }
      http: { url: "${base}/tools/lookup_appointment" }
`;

describe('examples/backend', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS, env: { BRIDGE_SIGNING_SECRET: SECRET } });

  it('refuses an unsigned or wrongly signed request', async () => {
    const unsigned = await fetch(`${base}/context`, { method: 'POST', body: '{"call":{}}' });
    expect(unsigned.status).toBe(401);
    const forged = await fetch(`${base}/context`, {
      method: 'POST',
      body: '{"call":{}}',
      headers: { 'x-bridge-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}` },
    });
    expect(forged.status).toBe(401);
  });

  it('greets a known caller by name and answers the tool from the bridge', { timeout: 20_000 }, async () => {
    const sessionP = h.emulator.nextSession();
    const phone = h.phone({
      to: '+15551230002',
      from: '+15557654321',
      callerAudio: Buffer.concat([silence(300), callerClip('caller_hours.ulaw8k.wav'), silence(8_000)]),
    });
    await phone.dial();
    const session = await sessionP;
    const greeting = await session.waitForReceived('response.create');
    expect(String((greeting.wire['response'] as { instructions: string }).instructions)).toContain(
      'Hi Ada, thanks for calling Example Dental!',
    );
    expect(session.sessionConfig['instructions']).toBe('Booking line.\n\nThe caller is Ada, a patient since 2019.');
    session.queueResponse({
      kind: 'toolCall',
      name: 'lookup_appointment',
      arguments: { date_of_birth: '1980-01-02' },
      callId: 'call_ex',
    });
    const out = await session.waitForReceived(
      'conversation.item.create',
      (r) => (r.wire['item'] as { call_id?: string } | undefined)?.call_id === 'call_ex',
    );
    expect(JSON.parse((out.wire['item'] as { output: string }).output)).toEqual({
      found: true,
      appointment: '2026-12-09 at 10:30 with Dr. Rivera',
    });
    await phone.hangUp();
    await until(() => h.bridge.activeCalls === 0, 10_000, 'the call to end');
  });
});
