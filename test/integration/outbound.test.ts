/**
 * Outbound calls end to end (issue #19): the real bridge on 127.0.0.1:0 with the emulator as
 * the model, and the local Twilio simulator (`src/sim/twilio-sim.ts`) as Twilio: the bridge
 * creates the call through the `twilio` client pointed at the simulator, which answers with a
 * simulated person or answering machine, posts signed AMD and status callbacks, and hangs up.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { TwilioSim, type CalleeKind } from '../../src/sim/twilio-sim.js';
import { SystemClock } from '../../src/util/clock.js';
import { TEST_PACING, until } from '../support/call-harness.js';
import { RealtimeEmulator } from '../../src/emulator/realtime-emulator.js';
import { startTestBridge, type TestBridge } from '../support/bridge.js';
import { tempDir } from '../support/tmp.js';

const ACCOUNT_SID = `AC${'0'.repeat(32)}`;
const AUTH_TOKEN = 'sim-auth-token-for-outbound-tests';
const ADMIN_TOKEN = 'admin-token-for-outbound-tests';
const FROM = '+15551230001';

const CALLEES: Record<string, CalleeKind> = {
  '+15557770001': 'person',
  '+15557770002': 'machine',
  '+15557770003': 'no-answer',
  '+15557770004': 'busy',
};

const NUMBERS = `
defaults:
  instructions: Outbound test line.
  voice: alloy
  greeting: Hello, this is Example Dental calling about your appointment.
  turn_detection: { type: server_vad, threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 }
  tools: [hang_up]
  outbound:
    machine_detection: voicemail
    voicemail_message: Hi, this is Example Dental. Please call us back at your convenience.
`;

const sim = await TwilioSim.start({
  accountSid: ACCOUNT_SID,
  authToken: AUTH_TOKEN,
  clock: new SystemClock(),
  calleeFor: (to) => CALLEES[to] ?? 'person',
  personHangUpMs: 8_000,
});
afterAll(() => sim.close());

async function bridgeWith(env: Record<string, string> = {}): Promise<TestBridge> {
  return startTestBridge({
    numbersYaml: NUMBERS,
    env: {
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_API_BASE_URL: sim.url,
      ADMIN_TOKEN,
      OUTBOUND_CPS: '50',
      ...env,
    },
    bridge: { emulator: new RealtimeEmulator({ pacing: TEST_PACING, seed: 7 }) },
  });
}

function dial(url: string, body: Record<string, unknown>, key?: string): Promise<Response> {
  return fetch(`${url}/api/calls`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      'content-type': 'application/json',
      ...(key !== undefined ? { 'idempotency-key': key } : {}),
    },
    body: JSON.stringify(body),
  });
}

async function record(url: string, callSid: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/api/calls/${callSid}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

async function placed(url: string, body: Record<string, unknown>): Promise<string> {
  const res = await dial(url, { from: FROM, ...body });
  expect(res.status).toBe(201);
  const answer = (await res.json()) as { callSid: string; status: string };
  expect(answer.status).toBe('queued');
  return answer.callSid;
}

describe('outbound calls through the Twilio simulator', async () => {
  const tb = await bridgeWith();

  it(
    'a person: greeted right after "hello?", a conversation, a record with direction outbound',
    { timeout: 20_000 },
    async () => {
      const callSid = await placed(tb.url, { to: '+15557770001' });
      const call = await sim.call(callSid)!.done;
      expect(call.statuses.slice(0, 3)).toEqual(['initiated', 'ringing', 'in-progress']);
      expect(call.statuses.at(-1)).toBe('completed');
      expect(call.answeredBy).toBe('human');
      // the greeting starts after the callee's "hello?" and before AMD's verdict
      expect(call.firstAssistantAudioMs).not.toBeNull();
      expect(call.firstAssistantAudioMs!).toBeGreaterThan(call.audio!.firstWordsEndMs);
      expect(call.firstAssistantAudioMs!).toBeLessThan(call.verdictAtMs!);
      const rec = await record(tb.url, callSid);
      expect(rec).toMatchObject({ direction: 'outbound', from: FROM, to: '+15557770001', outcome: 'caller_hung_up' });
      const turns = rec['turns'] as { role: string }[];
      expect(turns[0]?.role).toBe('assistant');
      expect(turns.filter((t) => t.role === 'assistant').length).toBeGreaterThanOrEqual(2);
      const list = (await (
        await fetch(`${tb.url}/api/calls`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      ).json()) as { calls: { callSid: string; direction: string }[] };
      expect(list.calls.find((c) => c.callSid === callSid)?.direction).toBe('outbound');
    },
  );

  it(
    'a machine: nothing is said until the beep has ended, then the voicemail message, then the end',
    { timeout: 20_000 },
    async () => {
      const callSid = await placed(tb.url, { to: '+15557770002' });
      const call = await sim.call(callSid)!.done;
      expect(call.answeredBy).toBe('machine_end_beep');
      expect(call.firstAssistantAudioMs).not.toBeNull();
      expect(call.firstAssistantAudioMs!).toBeGreaterThan(call.audio!.beepEndMs!);
      expect(call.endedBy).toBe('bridge');
      // Twilio's `completed` came after the bridge ended the call: the specific outcome stays
      expect(call.statuses.at(-1)).toBe('completed');
      const rec = await record(tb.url, callSid);
      expect(rec).toMatchObject({ direction: 'outbound', outcome: 'voicemail_left' });
      const statuses = (rec['statusEvents'] as { status: string }[]).map((e) => e.status);
      expect(statuses).toEqual(expect.arrayContaining(['ringing', 'amd', 'completed']));
    },
  );

  it('machine_detection hangup: the call ends at the verdict, nothing said', { timeout: 20_000 }, async () => {
    const callSid = await placed(tb.url, { to: '+15557770002', machine_detection: 'hangup' });
    const call = await sim.call(callSid)!.done;
    expect(call.firstAssistantAudioMs).toBeNull();
    expect(call.endedBy).toBe('bridge');
    expect((await record(tb.url, callSid))['outcome']).toBe('machine_detected');
  });

  it('no answer and busy become the outcomes', { timeout: 10_000 }, async () => {
    for (const [to, outcome] of [
      ['+15557770003', 'no_answer'],
      ['+15557770004', 'busy'],
    ] as const) {
      const callSid = await placed(tb.url, { to });
      await sim.call(callSid)!.done;
      expect(await record(tb.url, callSid)).toMatchObject({ direction: 'outbound', outcome });
    }
  });

  it("403 outside OUTBOUND_ALLOW (default: the from number's country); 400 names a bad field", async () => {
    const foreign = await dial(tb.url, { from: FROM, to: '+447700900123' });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: string }).error).toMatch(/OUTBOUND_ALLOW/);
    const bad = await dial(tb.url, { from: FROM, to: '5551234' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^to: /);
  });

  it('an unsigned AMD callback is refused with 403', async () => {
    const res = await fetch(`${tb.url}/twilio/amd`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ AccountSid: ACCOUNT_SID, CallSid: 'CA123', AnsweredBy: 'human' }).toString(),
    });
    expect(res.status).toBe(403);
  });
});

describe('outbound limits and idempotency', () => {
  it('the same Idempotency-Key dials once, also after a restart', { timeout: 20_000 }, async () => {
    const dataDir = path.join(tempDir(), 'data');
    const first = await bridgeWith({ DATA_DIR: dataDir });
    const body = { from: FROM, to: '+15557770003' };
    const [a, b] = await Promise.all([dial(first.url, body, 'order-42'), dial(first.url, body, 'order-42')]);
    const sidA = ((await a.json()) as { callSid: string }).callSid;
    const sidB = ((await b.json()) as { callSid: string }).callSid;
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(sidB).toBe(sidA);
    await first.bridge.close();
    const second = await bridgeWith({ DATA_DIR: dataDir });
    const again = await dial(second.url, body, 'order-42');
    expect(again.status).toBe(201);
    expect(((await again.json()) as { callSid: string }).callSid).toBe(sidA);
    const other = await dial(second.url, body, 'order-43');
    expect(((await other.json()) as { callSid: string }).callSid).not.toBe(sidA);
  });

  it('429 with Retry-After at OUTBOUND_MAX_CONCURRENT', { timeout: 20_000 }, async () => {
    const tb = await bridgeWith({ OUTBOUND_MAX_CONCURRENT: '1' });
    const callSid = await placed(tb.url, { to: '+15557770003' });
    const refused = await dial(tb.url, { from: FROM, to: '+15557770003' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    await sim.call(callSid)!.done;
    // the place is free again once Twilio says the call is over
    expect((await dial(tb.url, { from: FROM, to: '+15557770003' })).status).toBe(201);
  });
});

describe('outbound calls send the same events as inbound ones', () => {
  it(
    'call.started and call.ended for an answered call, call.ended for an unanswered one',
    { timeout: 20_000 },
    async () => {
      const events: { type: string; callSid: string; data: Record<string, unknown> }[] = [];
      const receiver = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          events.push(JSON.parse(body) as (typeof events)[number]);
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
      const eventsUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;
      const tb = await bridgeWith({ EVENTS_URL: eventsUrl });
      const answered = await placed(tb.url, { to: '+15557770002', machine_detection: 'hangup' });
      const unanswered = await placed(tb.url, { to: '+15557770004' });
      const of = (sid: string, type: string) => events.find((e) => e.callSid === sid && e.type === type);
      await until(
        () => of(answered, 'call.ended') !== undefined && of(unanswered, 'call.ended') !== undefined,
        15_000,
        'both call.ended events',
      );
      expect(of(answered, 'call.started')?.data).toMatchObject({ direction: 'outbound', to: '+15557770002' });
      expect(of(answered, 'call.ended')?.data).toMatchObject({ direction: 'outbound', outcome: 'machine_detected' });
      expect(of(unanswered, 'call.ended')?.data).toMatchObject({ direction: 'outbound', outcome: 'busy' });
    },
  );
});
