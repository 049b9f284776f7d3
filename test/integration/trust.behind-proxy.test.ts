/**
 * Behind a proxy or tunnel nothing counts as local (SPEC §8, issue #14 items 1 and 8). A real
 * reverse proxy on loopback forwards to the bridge and adds `X-Forwarded-For`, as ngrok or
 * cloudflared do: the bridge's peer is 127.0.0.1 either way, and only the header tells them
 * apart. Through the proxy the admin API, local mode's unsigned webhooks and streams, and the
 * emulator are refused; directly from this machine they still work. With `TWILIO_AUTH_TOKEN`
 * set, `/api/*` needs `ADMIN_TOKEN` whatever the peer; forwarded host headers decide the
 * signature URL only with `TRUST_PROXY=1`.
 */
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';

import { loadConfig } from '../../src/config/env.js';
import { ConfigError } from '../../src/util/errors.js';
import { parseStreamTwiml } from '../../src/sim/twiml.js';
import { startTestBridge } from '../support/bridge.js';
import { startBridgeProcess } from '../support/child.js';
import { startForwardingProxy } from '../support/forwarding-proxy.js';
import { tempDir } from '../support/tmp.js';

const AUTH_TOKEN = 'proxy-test-auth-token-0123';
const ADMIN_TOKEN = 'admin-token-proxy-test-4567';

let nextCall = 0;
function callParams(): Record<string, string> {
  return {
    AccountSid: `AC${'0'.repeat(32)}`,
    CallSid: `CA${(++nextCall).toString(16).padStart(32, 'a')}`,
    From: '+15550001111',
    To: '+15551230001',
  };
}

function postForm(url: string, params: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
}

/** Opens a WebSocket and resolves with how the upgrade went: 'open' or the HTTP status. */
function upgrade(url: string): Promise<'open' | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', () => undefined);
  });
}

describe('local mode behind a forwarding proxy', async () => {
  const { url, logs } = await startTestBridge();
  const proxy = await startForwardingProxy(url);
  const ws = (base: string, path: string) => `${base.replace('http:', 'ws:')}${path}`;

  it('the admin API answers directly but refuses the forwarded request (403)', async () => {
    expect((await fetch(`${url}/api/calls`)).status).toBe(200);
    const forwarded = await fetch(`${proxy.url}/api/calls`);
    expect(forwarded.status).toBe(403);
    expect(((await forwarded.json()) as { error: string }).error).toMatch(/proxy or tunnel/);
    const put = await fetch(`${proxy.url}/api/numbers/%2B15551230001`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ transfer_to: '+19005550000' }),
    });
    expect(put.status).toBe(403);
  });

  it('an unsigned webhook through the proxy gets 403 and no token', async () => {
    expect((await postForm(`${url}/twilio/voice`, callParams())).status).toBe(200);
    const res = await postForm(`${proxy.url}/twilio/voice`, callParams());
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain('<Stream');
    await logs.waitFor('webhook rejected');
    expect(logs.lines.filter((l) => l.msg === 'webhook rejected').map((l) => [l['route'], l['reason']])).toEqual([
      ['voice', 'forwarded'],
    ]);
  });

  it('the media stream and the emulator refuse a forwarded upgrade (HTTP 403)', async () => {
    expect(await upgrade(ws(url, '/emulator/v1/realtime'))).toBe('open');
    expect(await upgrade(ws(proxy.url, '/emulator/v1/realtime'))).toBe(403);
    expect(await upgrade(ws(proxy.url, '/twilio/media'))).toBe(403);
    expect(proxy.forwarded).toBeGreaterThanOrEqual(5);
  });

  it.each(['forwarded', 'x-forwarded-host', 'x-real-ip', 'cf-connecting-ip'])(
    'any forwarding header makes a loopback request non-local: %s',
    async (header) => {
      const res = await fetch(`${url}/api/calls`, { headers: { [header]: 'for=203.0.113.7' } });
      expect(res.status).toBe(403);
    },
  );
});

describe('with TWILIO_AUTH_TOKEN and no ADMIN_TOKEN', async () => {
  const { url } = await startTestBridge({ env: { TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_URL: 'https://b.example' } });
  it('/api/* answers 401 even from loopback', async () => {
    const res = await fetch(`${url}/api/calls`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toMatch(/needs ADMIN_TOKEN/);
  });
});

describe('with TWILIO_AUTH_TOKEN and ADMIN_TOKEN behind the proxy', async () => {
  const { url } = await startTestBridge({
    env: { TWILIO_AUTH_TOKEN: AUTH_TOKEN, ADMIN_TOKEN, PUBLIC_URL: 'https://b.example' },
  });
  const proxy = await startForwardingProxy(url);
  it('/api/* answers the bearer token and nothing else, forwarded or not', async () => {
    expect((await fetch(`${proxy.url}/api/calls`)).status).toBe(401);
    expect((await fetch(`${url}/api/calls`)).status).toBe(401);
    const ok = await fetch(`${proxy.url}/api/calls`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(ok.status).toBe(200);
  });
});

describe('ADMIN_TOKEN shorter than 16 characters', () => {
  it('is a configuration error naming the variable, never echoing the value', () => {
    let error: unknown;
    try {
      loadConfig({ TWILIO_AUTH_TOKEN: AUTH_TOKEN, ADMIN_TOKEN: 'short-secret' }, '/nonexistent');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).where).toBe('ADMIN_TOKEN');
    expect((error as ConfigError).message).toMatch(/^ADMIN_TOKEN=\(secret value\) is shorter than 16 characters/);
    expect((error as ConfigError).message).not.toContain('short-secret');
  });
});

describe('forwarded host headers and the signature URL (no PUBLIC_URL)', () => {
  const signedFor = (base: string, params: Record<string, string>) =>
    twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${base}/twilio/voice`, params);
  const spoofed = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'other-app.example' };

  it('are ignored by default: a signature for another host does not validate', async () => {
    const { url } = await startTestBridge({ env: { TWILIO_AUTH_TOKEN: AUTH_TOKEN } });
    const params = callParams();
    const res = await postForm(`${url}/twilio/voice`, params, {
      ...spoofed,
      'x-twilio-signature': signedFor('https://other-app.example', params),
    });
    expect(res.status).toBe(403);
    // the Host the request really came to still works
    const direct = callParams();
    const ok = await postForm(`${url}/twilio/voice`, direct, { 'x-twilio-signature': signedFor(url, direct) });
    expect(ok.status).toBe(200);
    expect(parseStreamTwiml(await ok.text())!.url).toBe(`${url.replace('http:', 'ws:')}/twilio/media`);
  });

  it('are believed with TRUST_PROXY=1, for the signature and the stream URL', async () => {
    const { url } = await startTestBridge({ env: { TWILIO_AUTH_TOKEN: AUTH_TOKEN, TRUST_PROXY: '1' } });
    const params = callParams();
    const res = await postForm(`${url}/twilio/voice`, params, {
      ...spoofed,
      'x-twilio-signature': signedFor('https://other-app.example', params),
    });
    expect(res.status).toBe(200);
    expect(parseStreamTwiml(await res.text())!.url).toBe('wss://other-app.example/twilio/media');
  });
});

describe('start-up with a token but no PUBLIC_URL or ADMIN_TOKEN (the real entry point)', () => {
  it('warns about each weaker setting, naming the variable', { timeout: 15_000 }, async () => {
    const dir = tempDir();
    const proc = startBridgeProcess({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: `${dir}/data`,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    });
    await proc.waitForLog('bridge listening');
    await proc.waitForLog(/^ADMIN_TOKEN is not set/);
    await proc.waitForLog(/^PUBLIC_URL is not set/);
    await proc.waitForLog(/^METRICS_TOKEN is not set/);
    expect(proc.stdout.join('\n')).not.toContain(AUTH_TOKEN);
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
  });
});
