/**
 * The media-stream gate (SPEC §5, issue #5 acceptance c): a stream without the one-time
 * token its webhook issued — missing, forged, replayed, or for another call — is closed with
 * 1008 before any model connection is opened; an upgrade with a bad signature gets 403.
 */
import { describe, expect, it } from 'vitest';

import { parseStreamTwiml } from '../../src/sim/twiml.js';
import { SimulatedPhone } from '../../src/sim/phone.js';
import { startCallHarness, until } from '../support/call-harness.js';

async function webhook(
  url: string,
  callSid: string,
  to = '+15551230001',
): Promise<{ url: string; parameters: Record<string, string> }> {
  const body = new URLSearchParams({
    CallSid: callSid,
    From: '+15550001111',
    To: to,
    AccountSid: `AC${'0'.repeat(32)}`,
  });
  const res = await fetch(`${url}/twilio/voice`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: body.toString(),
  });
  return parseStreamTwiml(await res.text())!;
}

describe('media stream gate, local mode', async () => {
  const h = await startCallHarness();
  const sid = (n: number) => `CA${String(n).padStart(32, '0')}`;
  // one CallSid per webhook: a second webhook for a CallSid gets no token (SPEC §8)
  let nextSid = 100;

  it.each([
    ['no token', (p: Record<string, string>) => ({ ...p, token: '' })],
    [
      'a forged token',
      (p: Record<string, string>) => ({
        ...p,
        token: 'v1.zzzzzzzz.AAAAAAAAAAAA.forgedforgedforgedforgedforgedforgedforgedf',
      }),
    ],
    ['a token for other parameters', (p: Record<string, string>) => ({ ...p, profile: '+15551230002' })],
  ])('%s → closed with 1008, the model never contacted', { timeout: 8_000 }, async (_name, tamper) => {
    const before = h.emulator.sessionCount;
    const callSid = sid(nextSid++);
    const stream = await webhook(h.url, callSid);
    const phone = new SimulatedPhone({ bridgeUrl: h.url, to: '+15551230001', callSid });
    await phone.connect(stream.url, tamper(stream.parameters));
    expect(await phone.closed()).toBe(1008);
    expect(h.emulator.sessionCount).toBe(before);
  });

  it('a token presented for another CallSid → 1008', { timeout: 8_000 }, async () => {
    const before = h.emulator.sessionCount;
    const stream = await webhook(h.url, sid(2));
    const phone = new SimulatedPhone({ bridgeUrl: h.url, to: '+15551230001', callSid: sid(3) });
    await phone.connect(stream.url, stream.parameters);
    expect(await phone.closed()).toBe(1008);
    expect(h.emulator.sessionCount).toBe(before);
  });

  it('a replayed token → the first stream runs, the second is closed with 1008', { timeout: 8_000 }, async () => {
    const stream = await webhook(h.url, sid(4));
    const sessionP = h.emulator.nextSession();
    const first = new SimulatedPhone({ bridgeUrl: h.url, to: '+15551230001', callSid: sid(4) });
    await first.connect(stream.url, stream.parameters);
    await sessionP;
    const sessions = h.emulator.sessionCount;
    const replay = new SimulatedPhone({ bridgeUrl: h.url, to: '+15551230001', callSid: sid(4) });
    await replay.connect(stream.url, stream.parameters);
    expect(await replay.closed()).toBe(1008);
    expect(h.emulator.sessionCount).toBe(sessions);
    expect(first.isOpen).toBe(true);
    await first.hangUp();
  });

  it('media before start is dropped without opening anything', { timeout: 8_000 }, async () => {
    const before = h.emulator.sessionCount;
    const stream = await webhook(h.url, sid(5));
    const WebSocket = (await import('ws')).default;
    const ws = new WebSocket(stream.url);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ event: 'media', media: { timestamp: '0', payload: '/////w==' } }));
    await h.logs.waitFor('twilio message before start dropped');
    expect(ws.readyState).toBe(WebSocket.OPEN);
    // ... and a start without a token still ends it (1008); a silent socket is closed after START_TIMEOUT_MS
    ws.send(
      JSON.stringify({
        event: 'start',
        streamSid: 'MZ1',
        start: { accountSid: 'AC1', callSid: sid(5), customParameters: {} },
      }),
    );
    expect(await new Promise<number>((resolve) => ws.once('close', resolve))).toBe(1008);
    expect(h.emulator.sessionCount).toBe(before);
  });

  it('the rejections are counted by reason on /metrics', async () => {
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(text).toMatch(/bridge_webhook_rejections_total\{reason="missing_token"\} [1-9]/);
    expect(text).toMatch(/bridge_webhook_rejections_total\{reason="token_replayed"\} [1-9]/);
    await until(() => h.bridge.activeCalls === 0, 3_000, 'calls to end');
  });
});

describe('media stream gate with TWILIO_AUTH_TOKEN', async () => {
  const h = await startCallHarness({
    env: { TWILIO_AUTH_TOKEN: 'gate-test-token-123', PUBLIC_URL: 'http://127.0.0.1' },
  });

  it('an upgrade carrying a bad X-Twilio-Signature gets HTTP 403', { timeout: 8_000 }, async () => {
    const phone = new SimulatedPhone({ bridgeUrl: h.url, to: '+15551230001' });
    const wsUrl = `${h.url.replace('http:', 'ws:')}/twilio/media`;
    await expect(phone.connect(wsUrl, {}, { 'x-twilio-signature': 'bm90IGEgc2lnbmF0dXJl' })).rejects.toThrow(
      /HTTP 403/,
    );
    expect(h.emulator.sessionCount).toBe(0);
  });
});
