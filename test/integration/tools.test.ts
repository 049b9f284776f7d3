/**
 * Tools through Twilio's REST API (issue #5 acceptance f): `hang_up` and `transfer_call`
 * reach a local fake of api.twilio.com, through the twilio package, with the right CallSid,
 * credentials and body.
 */
import { describe, expect, it } from 'vitest';

import { callerClip, silence, startCallHarness, startFakeTwilioRest, until } from '../support/call-harness.js';

const AUTH_TOKEN = 'tools-test-auth-token';
/** with TWILIO_AUTH_TOKEN set, /api/* answers only ADMIN_TOKEN (SPEC §8) */
const ADMIN_TOKEN = 'tools-test-admin-token-0123';
const admin = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };
const ACCOUNT_SID = `AC${'1'.repeat(32)}`;
const NUMBERS = `
defaults:
  instructions: Tools test line.
  voice: alloy
  tools: [hang_up, transfer_call]
  transfer_to: "+15550000000"
`;

describe('tools reach Twilio REST', async () => {
  const rest = await startFakeTwilioRest();
  const h = await startCallHarness({
    numbersYaml: NUMBERS,
    env: {
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_API_BASE_URL: rest.url,
      RECORD_CALLS: '1',
      ADMIN_TOKEN,
    },
  });
  const basic = `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`;
  const script = () => Buffer.concat([silence(300), callerClip('caller_hours.ulaw8k.wav'), silence(4_000)]);

  it(
    'hang_up: after the goodbye has played, POST Calls/<CallSid>.json Status=completed; outcome hang_up_tool',
    { timeout: 15_000 },
    async () => {
      const sessionP = h.emulator.nextSession();
      const phone = h.phone({ to: '+15551230001', callerAudio: script(), authToken: AUTH_TOKEN });
      await phone.dial();
      (await sessionP).queueResponse({
        kind: 'toolCall',
        name: 'hang_up',
        arguments: { reason: 'caller is done' },
        before: { clip: 'done' },
      });
      const req = await rest.next();
      expect(req.method).toBe('POST');
      expect(req.path).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Calls/${phone.callSid}.json`);
      expect(req.params).toEqual({ Status: 'completed' });
      expect(req.authorization).toBe(basic);
      // the goodbye was heard before the hang-up
      expect(phone.stats.playedMs).toBeGreaterThan(0);
      expect(await phone.closed()).toBe(1000);
      await until(() => h.bridge.activeCalls === 0, 3_000, 'the call to end');
      const record = (await (await fetch(`${h.url}/api/calls/${phone.callSid}`, admin)).json()) as {
        outcome: string;
        detail: string;
      };
      expect(record).toMatchObject({ outcome: 'hang_up_tool', detail: 'caller is done' });
    },
  );

  it(
    'transfer_call: POST Calls/<CallSid>.json with Twiml <Dial>transfer_to</Dial>; outcome transferred',
    { timeout: 15_000 },
    async () => {
      const sessionP = h.emulator.nextSession();
      const phone = h.phone({ to: '+15551230001', callerAudio: script(), authToken: AUTH_TOKEN });
      await phone.dial();
      (await sessionP).queueResponse({
        kind: 'toolCall',
        name: 'transfer_call',
        arguments: { reason: 'billing question' },
      });
      const req = await rest.next();
      expect(req.path).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Calls/${phone.callSid}.json`);
      expect(req.params['Twiml']).toMatch(/<Response><Dial>\+15550000000<\/Dial><\/Response>/);
      expect(req.authorization).toBe(basic);
      await phone.closed();
      await until(() => h.bridge.activeCalls === 0, 3_000, 'the call to end');
      const record = (await (await fetch(`${h.url}/api/calls/${phone.callSid}`, admin)).json()) as { outcome: string };
      expect(record.outcome).toBe('transferred');
    },
  );

  it('secrets stay out of the recordings and the log', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const path = await import('node:path');
    const dir = path.join(h.dir, 'data', 'recordings');
    const files = readdirSync(dir);
    // two calls: each a log and its four audio tracks, every file checked
    expect(files.filter((f) => f.endsWith('.jsonl'))).toHaveLength(2);
    expect(files).toHaveLength(10);
    for (const file of files) {
      const text = readFileSync(path.join(dir, file), 'latin1');
      expect(text).not.toContain(AUTH_TOKEN);
      expect(text).not.toMatch(/"token":"v1\./);
      // the one-time stream token is redacted from the recorded start message
      if (file.endsWith('.jsonl')) expect(text).toContain('"token":"[redacted]"');
    }
    expect(h.logs.text()).not.toContain(AUTH_TOKEN);
  });
});
