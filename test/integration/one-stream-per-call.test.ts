/**
 * One stream per CallSid (SPEC §8, issue #14 item 3). Twilio's signatures never expire, so a
 * signed webhook can be replayed byte for byte: it must get no second stream token, whether the
 * first token was used or not. A second `start` for a live CallSid (a token from another
 * instance, say) is closed with 1008 and changes nothing of the live call, so the active-call
 * count stays right and a drain never waits on a ghost; and a call's recording file is never
 * opened a second time.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import twilio from 'twilio';
import { describe, expect, it } from 'vitest';

import { parseStreamTwiml } from '../../src/sim/twiml.js';
import { SimulatedPhone } from '../../src/sim/phone.js';
import { callerClip, silence, startCallHarness, until } from '../support/call-harness.js';

const AUTH_TOKEN = 'one-stream-auth-token-0123';

/** A webhook exactly as Twilio signs it, replayable byte for byte. */
function signedWebhook(url: string, callSid: string): () => Promise<{ status: number; body: string }> {
  const params = {
    AccountSid: `AC${'0'.repeat(32)}`,
    ApiVersion: '2010-04-01',
    CallSid: callSid,
    CallStatus: 'ringing',
    Direction: 'inbound',
    From: '+15550001111',
    To: '+15551230001',
  };
  const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${url}/twilio/voice`, params);
  const body = new URLSearchParams(params).toString();
  return async () => {
    const res = await fetch(`${url}/twilio/voice`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body,
    });
    return { status: res.status, body: await res.text() };
  };
}

describe('a replayed signed webhook', async () => {
  const h = await startCallHarness({ env: { TWILIO_AUTH_TOKEN: AUTH_TOKEN } });

  it('gets no second token while the first is still unused', async () => {
    const send = signedWebhook(h.url, `CA${'1'.repeat(32)}`);
    const first = await send();
    expect(parseStreamTwiml(first.body)).not.toBeNull();
    const replay = await send();
    expect(replay.status).toBe(200);
    expect(replay.body).not.toContain('<Stream');
    expect(replay.body).toContain('<Hangup/>');
  });

  it('gets no second token once the call is live, and the live call goes on', { timeout: 10_000 }, async () => {
    const sessionP = h.emulator.nextSession();
    const phone = h.phone({
      to: '+15551230001',
      authToken: AUTH_TOKEN,
      callerAudio: Buffer.concat([silence(1_000), callerClip('caller_hours.ulaw8k.wav')]),
      timeScale: 2,
    });
    await phone.dial();
    await sessionP;
    const sessions = h.emulator.sessionCount;
    const replay = await signedWebhook(h.url, phone.callSid)();
    expect(replay.body).not.toContain('<Stream');
    expect(replay.body).toContain('<Hangup/>');
    expect(h.emulator.sessionCount).toBe(sessions);
    expect(h.bridge.activeCalls).toBe(1);
    const framesBefore = phone.stats.framesSent;
    await until(() => phone.stats.framesSent > framesBefore + 20, 5_000, 'the live call to go on');
    expect(phone.isOpen).toBe(true);
    await phone.hangUp();
    await until(() => h.bridge.activeCalls === 0, 3_000, 'the call to end');
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/bridge_webhook_rejections_total\{reason="duplicate_call_sid"\} 2/);
  });
});

describe('a second start for a live CallSid', async () => {
  const h = await startCallHarness({ env: { RECORD_CALLS: '1' } });

  it('is closed with 1008 and changes nothing of the live call', { timeout: 10_000 }, async () => {
    const sessionP = h.emulator.nextSession();
    const phone = h.phone({ to: '+15551230001', callerAudio: silence(20_000), timeScale: 2 });
    await phone.dial();
    const model = await sessionP;
    const sessions = h.emulator.sessionCount;
    // a valid token for the same call, as another instance sharing the key would issue it
    const token = h.bridge.tokens.issue({
      callSid: phone.callSid,
      profile: '+15551230001',
      from: '+15550001111',
      to: '+15551230001',
    });
    const twin = new SimulatedPhone({ bridgeUrl: h.url, to: '+15551230001', callSid: phone.callSid });
    await twin.connect(`${h.url.replace('http:', 'ws:')}/twilio/media`, {
      profile: '+15551230001',
      from: '+15550001111',
      to: '+15551230001',
      token,
    });
    expect(await twin.closed()).toBe(1008);
    expect(h.emulator.sessionCount).toBe(sessions);
    expect(h.bridge.activeCalls).toBe(1);
    expect(model.isOpen).toBe(true);
    const before = phone.stats.framesSent;
    await until(() => phone.stats.framesSent > before + 20, 5_000, 'the live call to go on');
    expect(phone.isOpen).toBe(true);
    // the real call's end still ends it: nothing left for a drain to wait on
    await phone.hangUp();
    await until(() => h.bridge.activeCalls === 0, 3_000, 'the call to end');
    expect((await h.logs.waitFor('media stream rejected'))['reason']).toBe('duplicate_call_sid');
  });

  it('a later call with a used CallSid never reopens its recording file', { timeout: 10_000 }, async () => {
    const callSid = `CA${'7'.repeat(32)}`;
    const first = h.phone({ to: '+15551230001', callSid, callerAudio: silence(2_000), timeScale: 2 });
    await first.dial();
    await first.hangUp();
    await until(() => h.bridge.activeCalls === 0, 3_000, 'the first call to end');
    const dir = path.join(h.dir, 'data', 'recordings');
    const fileOf = () => (existsSync(dir) ? readdirSync(dir).find((f) => f.startsWith(callSid)) : undefined);
    await until(() => fileOf() !== undefined, 3_000, 'the first recording file');
    const file = fileOf()!;
    await until(() => readFileSync(path.join(dir, file), 'utf8').includes('"event":"stop"'), 3_000, 'the recording');
    const recorded = readFileSync(path.join(dir, file), 'utf8');

    const token = h.bridge.tokens.issue({ callSid, profile: '+15551230001', from: '+15550001111', to: '+15551230001' });
    const second = new SimulatedPhone({ bridgeUrl: h.url, to: '+15551230001', callSid, callerAudio: silence(1_000) });
    await second.connect(`${h.url.replace('http:', 'ws:')}/twilio/media`, {
      profile: '+15551230001',
      from: '+15550001111',
      to: '+15551230001',
      token,
    });
    await h.logs.waitFor('call recording failed; the call continues unrecorded');
    await second.hangUp();
    await until(() => h.bridge.activeCalls === 0, 3_000, 'the second call to end');
    expect(readFileSync(path.join(dir, file), 'utf8')).toBe(recorded);
  });
});
