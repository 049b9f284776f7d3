import os from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';

import twilio from 'twilio';
import { describe, expect, it } from 'vitest';

import { parseStreamTwiml } from '../../src/sim/twiml.js';
import { FIXTURE_NUMBERS, startTestBridge } from '../support/bridge.js';

const AUTH_TOKEN = 'test-auth-token-0123456789';
const PUBLIC_URL = 'https://bridge.example.test';
const CALL_SID = 'CA0123456789abcdef0123456789abcdef';

function form(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

/** POSTs a form to the bridge, optionally from a given local address. */
function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
  localAddress?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      {
        host: localAddress === undefined ? '127.0.0.1' : u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      },
      (res) => {
        let data = '';
        res.on('data', (c: Buffer) => (data += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// One CallSid per webhook: a second webhook for a CallSid gets no token (SPEC §8).
let nextCall = 0;
const callParams = (to: string, callSid = `CA${(nextCall++).toString(16).padStart(32, '0')}`) => ({
  AccountSid: 'AC0123456789abcdef0123456789abcdef',
  CallSid: callSid,
  From: '+15550001111',
  To: to,
  CallStatus: 'ringing',
  Direction: 'inbound',
  ApiVersion: '2010-04-01',
});

describe('POST /twilio/voice with TWILIO_AUTH_TOKEN set', async () => {
  const { url, bridge, logs } = await startTestBridge({ env: { TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_URL } });

  it('a correctly signed webhook gets a <Connect><Stream> for the called number', async () => {
    const params = callParams('+15551230001', CALL_SID);
    // The signature is computed by the twilio package's own helper, not by our code.
    const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}/twilio/voice`, params);
    const res = await post(`${url}/twilio/voice`, form(params), { 'x-twilio-signature': signature });
    expect(res.status).toBe(200);
    const stream = parseStreamTwiml(res.body);
    expect(stream).not.toBeNull();
    expect(stream!.url).toBe('wss://bridge.example.test/twilio/media');
    expect(stream!.parameters).toMatchObject({ profile: '+15551230001', from: '+15550001111', to: '+15551230001' });
    // the one-time token that the media stream must present, bound to this call
    const token = stream!.parameters['token']!;
    expect(
      bridge.tokens.verify(token, {
        callSid: CALL_SID,
        profile: '+15551230001',
        from: '+15550001111',
        to: '+15551230001',
      }),
    ).toEqual({ ok: true });
    expect(token.length + 'token'.length).toBeLessThan(500);
  });

  it('an unknown number gets the defaults profile', async () => {
    const params = callParams('+19998887777');
    const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}/twilio/voice`, params);
    const res = await post(`${url}/twilio/voice`, form(params), { 'x-twilio-signature': signature });
    expect(parseStreamTwiml(res.body)!.parameters['profile']).toBe('defaults');
  });

  it('a wrong signature gets 403 and no TwiML', async () => {
    const params = callParams('+15551230001');
    const wrong = twilio.getExpectedTwilioSignature('another-token', `${PUBLIC_URL}/twilio/voice`, params);
    const res = await post(`${url}/twilio/voice`, form(params), { 'x-twilio-signature': wrong });
    expect(res.status).toBe(403);
    expect(res.body).not.toContain('<Stream');
  });

  it('a signature over other parameters (tampered body) gets 403', async () => {
    const signed = callParams('+15551230001');
    const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}/twilio/voice`, signed);
    const res = await post(`${url}/twilio/voice`, form({ ...signed, To: '+15551230002' }), {
      'x-twilio-signature': signature,
    });
    expect(res.status).toBe(403);
  });

  it('a signature for the Host-derived URL instead of PUBLIC_URL gets 403', async () => {
    const params = callParams('+15551230001');
    const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${url}/twilio/voice`, params);
    expect((await post(`${url}/twilio/voice`, form(params), { 'x-twilio-signature': signature })).status).toBe(403);
  });

  it('a missing signature gets 403, even from loopback', async () => {
    const res = await post(`${url}/twilio/voice`, form(callParams('+15551230001')));
    expect(res.status).toBe(403);
  });

  it('never logs the auth token or the stream token', () => {
    expect(logs.text()).not.toContain(AUTH_TOKEN);
    expect(logs.text()).not.toMatch(/v1\.[0-9a-z]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{20,}/);
  });
});

describe('POST /twilio/voice in local mode (no auth token)', async () => {
  const strict = readFileSync(FIXTURE_NUMBERS, 'utf8').replace('reject_unknown: false', 'reject_unknown: true');
  const { url, numbersFile, logs } = await startTestBridge({ numbersYaml: strict });

  it('accepts an unsigned webhook from loopback; the stream URL follows the Host header', async () => {
    const res = await post(`${url}/twilio/voice`, form(callParams('+15551230002')));
    expect(res.status).toBe(200);
    const stream = parseStreamTwiml(res.body)!;
    expect(stream.url).toBe(`${url.replace('http:', 'ws:')}/twilio/media`);
    expect(stream.parameters['profile']).toBe('+15551230002');
  });

  it('rejects unknown numbers with <Reject/> when reject_unknown is set', async () => {
    const res = await post(`${url}/twilio/voice`, form(callParams('+19998887777')));
    expect(res.status).toBe(200);
    expect(res.body).toContain('<Reject/>');
    expect(res.body).not.toContain('<Stream');
  });

  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;

  it.skipIf(external === undefined)('refuses unsigned webhooks from a non-loopback address', async () => {
    // The bridge listens on 127.0.0.1 only in tests; connect from the external interface address
    // to loopback, so the peer address the server sees is not a loopback one.
    const res = await post(`${url}/twilio/voice`, form(callParams('+15551230002')), {}, external);
    expect(res.status).toBe(403);
    expect((await logs.waitFor('webhook rejected'))['reason']).toBe('not_loopback');
  });

  it('a broken edit at run time is logged with its field and the previous profiles keep answering', async () => {
    writeFileSync(numbersFile, strict.replace('greeting: null', 'greeting: null\n    voice: robot'));
    const rejected = await logs.waitFor('numbers file edit rejected; previous profiles stay in force');
    expect(rejected['field']).toMatch(/numbers\."\+15551230002"\.voice$/);
    const res = await post(`${url}/twilio/voice`, form(callParams('+15551230002')));
    expect(parseStreamTwiml(res.body)!.parameters['profile']).toBe('+15551230002');
  });

  it('a valid edit takes effect for the next call', async () => {
    writeFileSync(numbersFile, strict.replace('"+15551230002":', '"+15551230099":'));
    await logs.waitFor('numbers file reloaded');
    const res = await post(`${url}/twilio/voice`, form(callParams('+15551230099')));
    expect(parseStreamTwiml(res.body)!.parameters['profile']).toBe('+15551230099');
    expect((await post(`${url}/twilio/voice`, form(callParams('+15551230002')))).body).toContain('<Reject/>');
  });
});

describe('draining with DRAIN_REDIRECT_URL', async () => {
  const { url, bridge } = await startTestBridge({
    env: { DRAIN_REDIRECT_URL: 'https://bridge-2.example.test/twilio/voice' },
  });
  it('new calls are redirected to the other instance instead of refused', async () => {
    bridge.beginDrain();
    const res = await post(`${url}/twilio/voice`, form(callParams('+15551230001')));
    expect(res.body).toContain('<Redirect method="POST">https://bridge-2.example.test/twilio/voice</Redirect>');
    expect(res.body).not.toContain('<Stream');
  });
});

describe('health', async () => {
  const { url, bridge } = await startTestBridge();
  it('/healthz is 200; /readyz turns 503 when draining', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    bridge.beginDrain();
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, reason: 'draining' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
