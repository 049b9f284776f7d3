/**
 * Warm start (SPEC §11) through the real bridge and the emulator: the model session is opened
 * and configured at the accepted webhook, before Twilio's `start`, and the stream claims it; a
 * refused webhook opens nothing; PREWARM_MAX holds under a burst of webhooks.
 */
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';

import { startCallHarness, until } from '../support/call-harness.js';
import { MediaStream } from '../support/media-stream.js';

const NUMBERS = `
defaults:
  instructions: Test line.
  voice: alloy
  greeting: Thanks for calling.
`;

describe('warm start: the session is ready before the stream starts', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS, env: { PREWARM: '1' } });

  it('the emulator has the session configured before start; start claims it (one session per call)', async () => {
    const sessionP = h.emulator.nextSession();
    const stream = new MediaStream({ bridgeUrl: h.url, to: '+15551230001' });
    await stream.dial({ sendStart: false });
    const model = await sessionP;
    const updated = await model.waitForSent('session.updated');
    expect(updated.wire['session']).toMatchObject({ instructions: 'Test line.' });
    // nothing asked for yet: the greeting waits for the call
    expect(model.received.some((r) => r.type === 'response.create')).toBe(false);
    expect(h.bridge.warmSessions).toBe(1);
    stream.sendStart();
    const greeting = await model.waitForReceived('response.create');
    expect(JSON.stringify(greeting.wire)).toContain('Thanks for calling.');
    expect(h.emulator.sessionCount).toBe(1);
    expect(h.bridge.warmSessions).toBe(0);
    await until(() => stream.mediaReceived > 0, 4_000, 'the greeting audio');
    await stream.hangUp();
    await until(() => h.bridge.activeCalls === 0, 3_000, 'the call to end');
  });
});

describe('warm start: PREWARM_MAX under a burst of 100 webhooks', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS, env: { PREWARM: '1', PREWARM_MAX: '5' } });

  it('opens at most PREWARM_MAX sessions; the other calls still get their stream', { timeout: 10_000 }, async () => {
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        fetch(`${h.url}/twilio/voice`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            CallSid: `CA${String(i).padStart(32, '0')}`,
            From: '+15550002222',
            To: '+15551230001',
            AccountSid: `AC${'0'.repeat(32)}`,
          }).toString(),
        }).then(async (r) => ({ status: r.status, text: await r.text() })),
      ),
    );
    expect(answers.every((a) => a.status === 200 && a.text.includes('<Stream'))).toBe(true);
    expect(h.bridge.warmSessions).toBe(5);
    await until(() => h.emulator.sessionCount === 5, 4_000, 'the five warm sessions to connect');
    expect(h.emulator.sessionCount).toBe(5);
  });
});

describe('warm start: a refused webhook opens nothing', async () => {
  const AUTH = 'warm-start-token-123';
  const h = await startCallHarness({
    numbersYaml: NUMBERS,
    env: { PREWARM: '1', TWILIO_AUTH_TOKEN: AUTH, PUBLIC_URL: 'http://127.0.0.1' },
  });

  const post = (params: Record<string, string>, signature: string) =>
    fetch(`${h.url}/twilio/voice`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: new URLSearchParams(params).toString(),
    });
  const params = (callSid: string) => ({
    CallSid: callSid,
    From: '+15550002222',
    To: '+15551230001',
    AccountSid: `AC${'0'.repeat(32)}`,
  });

  it('a bad signature: 403 and no session; the same call signed: one session', async () => {
    const refused = await post(params(`CA${'1'.repeat(32)}`), 'bm90IGEgc2lnbmF0dXJl');
    expect(refused.status).toBe(403);
    expect(h.bridge.warmSessions).toBe(0);
    const signed = params(`CA${'2'.repeat(32)}`);
    const signature = twilio.getExpectedTwilioSignature(AUTH, 'http://127.0.0.1/twilio/voice', signed);
    const accepted = await post(signed, signature);
    expect(accepted.status).toBe(200);
    expect(h.bridge.warmSessions).toBe(1);
    // a replay of the accepted webhook opens no second session
    const replay = await post(signed, signature);
    expect(await replay.text()).toContain('<Hangup');
    expect(h.bridge.warmSessions).toBe(1);
    await until(() => h.emulator.sessionCount === 1, 4_000, 'the warm session to connect');
    expect(h.emulator.sessionCount).toBe(1);
  });
});
