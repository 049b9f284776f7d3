/**
 * Call control and the live feed from any API client (SPEC §12), against the real bridge, the
 * emulator and a simulated phone: `/api/live` streams the call, "say" reaches the model as a
 * response with the words, hang up ends the call from the bridge's side; the console cookie
 * works for reads and for writes only with `X-Bridge-Console: 1`.
 */
import { describe, expect, it } from 'vitest';

import { callerClip, silence, startCallHarness, until } from '../support/call-harness.js';

const TOKEN = 'control-test-token-0123456789';
const NUMBERS = `
defaults:
  instructions: Test line.
  voice: alloy
  greeting: null
  turn_detection: { type: server_vad, threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 }
  transcription: { model: whisper-1 }
`;

/** Reads Server-Sent Events from a streaming response into `events` until the stream ends. */
function collectSse(body: ReadableStream<Uint8Array>, events: { type: string; data: Record<string, unknown> }[]): void {
  const decoder = new TextDecoder();
  let buffered = '';
  void (async () => {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const type = /^event: (.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (type !== undefined && data !== undefined)
          events.push({ type, data: JSON.parse(data) as Record<string, unknown> });
      }
    }
  })().catch(() => undefined);
}

describe('call control and /api/live', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS, env: { ADMIN_TOKEN: TOKEN } });
  const bearer = { Authorization: `Bearer ${TOKEN}` };
  const json = { 'Content-Type': 'application/json' };

  it('streams the call, says the words asked for, and hangs up', { timeout: 20_000 }, async () => {
    const live = new AbortController();
    const sse = await fetch(`${h.url}/api/live`, { headers: bearer, signal: live.signal });
    expect(sse.headers.get('content-type')).toContain('text/event-stream');
    const events: { type: string; data: Record<string, unknown> }[] = [];
    collectSse(sse.body!, events);

    const sessionP = h.emulator.nextSession();
    const phone = h.phone({
      to: '+15551230001',
      callerAudio: Buffer.concat([silence(300), callerClip('caller_hours.ulaw8k.wav'), silence(15_000)]),
    });
    let closed = false;
    phone.on('closed', () => (closed = true));
    await phone.dial();
    const model = await sessionP;
    const sid = phone.callSid;
    await until(
      () => events.some((e) => e.type === 'call.started' && e.data['callSid'] === sid),
      3_000,
      'call.started',
    );
    await until(() => events.some((e) => e.type === 'turn' && e.data['callSid'] === sid), 10_000, 'a turn');

    const say = await fetch(`${h.url}/api/calls/${sid}/say`, {
      method: 'POST',
      headers: { ...bearer, ...json },
      body: JSON.stringify({ text: 'Your table is booked for eight.' }),
    });
    expect(say.status).toBe(202);
    await model.waitForReceived('response.create', (r) =>
      JSON.stringify(r).includes('Your table is booked for eight.'),
    );

    expect((await fetch(`${h.url}/api/calls/${sid}/hangup`, { method: 'POST', headers: bearer })).status).toBe(415);
    expect(
      (
        await fetch(`${h.url}/api/calls/CAnotlive/hangup`, {
          method: 'POST',
          headers: { ...bearer, ...json },
          body: '{}',
        })
      ).status,
    ).toBe(404);
    const transfer = await fetch(`${h.url}/api/calls/${sid}/transfer`, {
      method: 'POST',
      headers: { ...bearer, ...json },
      body: JSON.stringify({ to: 'nowhere' }),
    });
    expect(transfer.status).toBe(400);
    expect(((await transfer.json()) as { error: string }).error).toContain('E.164');

    const hangUp = await fetch(`${h.url}/api/calls/${sid}/hangup`, {
      method: 'POST',
      headers: { ...bearer, ...json },
      body: '{}',
    });
    expect(hangUp.status).toBe(202);
    await until(() => closed, 3_000, 'the phone to see the call end');
    await until(() => events.some((e) => e.type === 'call.ended' && e.data['callSid'] === sid), 3_000, 'call.ended');
    live.abort();
    await until(() => h.bridge.activeCalls === 0, 3_000, 'no live call');
    const record = (await (await fetch(`${h.url}/api/calls/${sid}`, { headers: bearer })).json()) as {
      outcome: string;
      detail: string;
    };
    expect(record).toMatchObject({ outcome: 'completed', detail: 'operator hung up' });
  });

  it('takes the console cookie for reads, and for writes only with X-Bridge-Console', async () => {
    const wrong = await fetch(`${h.url}/console/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'token=not-the-token',
      redirect: 'manual',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const login = await fetch(`${h.url}/console/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `token=${TOKEN}`,
      redirect: 'manual',
    });
    expect(login.status).toBe(303);
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const cookie = { Cookie: setCookie.split(';')[0]! };
    expect((await fetch(`${h.url}/api/calls`, { headers: cookie })).status).toBe(200);
    expect((await fetch(`${h.url}/api/calls`, { headers: { Cookie: `${cookie.Cookie}x` } })).status).toBe(401);
    const forged = await fetch(`${h.url}/api/calls/CAany/hangup`, {
      method: 'POST',
      headers: { ...cookie, ...json },
      body: '{}',
    });
    expect(forged.status).toBe(403);
    const fromConsole = await fetch(`${h.url}/api/calls/CAany/hangup`, {
      method: 'POST',
      headers: { ...cookie, ...json, 'X-Bridge-Console': '1' },
      body: '{}',
    });
    expect(fromConsole.status).toBe(404);
    expect((await fetch(`${h.url}/api/calls/CAnever/recording.wav`, { headers: bearer })).status).toBe(404);
  });
});
