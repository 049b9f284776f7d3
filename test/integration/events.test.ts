/**
 * Call events end to end (SPEC §10): real calls through the bridge, a real local webhook
 * backend. The envelope and signature are checked here with an independent HMAC, not with the
 * bridge's own module; retries run with short pauses (their timing is tested on a virtual
 * clock in event-delivery.test.ts).
 */
import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { callerClip, silence, startCallHarness, until } from '../support/call-harness.js';
import { startToolBackend, type BackendRequest } from '../support/tool-backend.js';

const SECRET = 'event-signing-secret-0123456789';
const backend = await startToolBackend();

/** Fails the first two attempts of every event, then accepts. */
const seen = new Map<string, number>();
backend.on('/events', (req, res) => {
  const { id } = JSON.parse(req.body) as { id: string };
  const n = (seen.get(id) ?? 0) + 1;
  seen.set(id, n);
  res.writeHead(n <= 2 ? 503 : 204).end();
});
backend.on('/ok', (_req, res) => res.writeHead(200).end('thanks'));
backend.on('/down', (_req, res) => res.writeHead(500).end());

const NUMBERS = `
defaults:
  instructions: Clinic line.
  webhooks: { url: "${backend.url}/ok" }
numbers:
  "+15551230002":
    webhooks: { url: "${backend.url}/events", events: [call.ended] }
  "+15551230003":
    webhooks: { url: "${backend.url}/down" }
`;

function verify(req: BackendRequest): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['x-bridge-signature']));
  if (match === null) return false;
  const t = Number(match[1]);
  const expected = createHmac('sha256', SECRET).update(`${t}.${req.body}`).digest('hex');
  return expected === match[2] && Math.abs(Date.now() / 1000 - t) <= 300;
}

interface Envelope {
  id: string;
  type: string;
  createdAt: string;
  callSid: string;
  data: Record<string, unknown>;
}

describe('call events', async () => {
  const h = await startCallHarness({
    numbersYaml: NUMBERS,
    env: { BRIDGE_SIGNING_SECRET: SECRET },
    bridge: { eventDelivery: { firstRetryMs: 50 } },
  });

  async function call(to: string): Promise<string> {
    const phone = h.phone({
      to,
      from: '+15557654321',
      callerAudio: Buffer.concat([silence(300), callerClip('caller_hours.ulaw8k.wav'), silence(1_000)]),
    });
    await phone.dial();
    await phone.hangUp();
    await until(() => h.bridge.activeCalls === 0, 10_000, 'the call to end');
    return phone.callSid;
  }

  const envelopes = (path: string, callSid: string) =>
    backend
      .to(path)
      .map((r) => ({ req: r, env: JSON.parse(r.body) as Envelope }))
      .filter((e) => e.env.callSid === callSid);

  it('sends call.started then call.ended, signed, in the exact envelope', { timeout: 20_000 }, async () => {
    const callSid = await call('+15551230001');
    await until(() => envelopes('/ok', callSid).length === 2, 10_000, 'two events');
    const [started, ended] = envelopes('/ok', callSid);
    for (const { req, env } of [started!, ended!]) {
      expect(Object.keys(env)).toEqual(['id', 'type', 'createdAt', 'callSid', 'data']);
      expect(env.id).toMatch(/^evt_[0-9a-f]{32}$/);
      expect(new Date(env.createdAt).toISOString()).toBe(env.createdAt);
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['idempotency-key']).toBe(env.id);
      expect(verify(req)).toBe(true);
    }
    expect(started!.env.type).toBe('call.started');
    expect(started!.env.data).toEqual({
      callSid,
      from: '+15557654321',
      to: '+15551230001',
      profile: 'defaults',
      direction: 'inbound',
      startedAt: expect.any(String) as string,
    });
    expect(ended!.env.type).toBe('call.ended');
    expect(ended!.env.data).toMatchObject({ callSid, outcome: 'caller_hung_up', to: '+15551230001', tools: [] });
    expect(ended!.env.data['turns']).toBeInstanceOf(Array);
    expect(ended!.env.data['latency']).toBeDefined();
    expect(ended!.env.data['endedAt']).toEqual(expect.any(String));
    expect(Date.parse(started!.env.createdAt)).toBeLessThanOrEqual(Date.parse(ended!.env.createdAt));

    const res = await fetch(`${h.url}/api/events?callSid=${callSid}`);
    const body = (await res.json()) as { events: Record<string, unknown>[]; next: string | null };
    expect(body.next).toBeNull();
    expect(body.events.map((e) => [e['type'], e['status'], e['attempts']])).toEqual([
      ['call.ended', 'delivered', 1],
      ['call.started', 'delivered', 1],
    ]);
    expect(Object.keys(body.events[0]!).sort()).toEqual(
      ['id', 'type', 'callSid', 'status', 'attempts', 'createdAt', 'deliveredAt', 'lastError'].sort(),
    );
  });

  it(
    'a backend failing twice gets the same event a 3rd time, and only the types it asked for',
    { timeout: 20_000 },
    async () => {
      const callSid = await call('+15551230002');
      await until(() => envelopes('/events', callSid).length === 3, 10_000, 'three attempts');
      const attempts = envelopes('/events', callSid);
      expect(new Set(attempts.map((a) => a.env.id)).size).toBe(1);
      expect(new Set(attempts.map((a) => a.req.body)).size).toBe(1);
      expect(attempts.map((a) => a.env.type)).toEqual(['call.ended', 'call.ended', 'call.ended']);
      const started = Date.now();
      let delivered: { attempts: number; lastError: string | null }[] = [];
      while (delivered.length === 0) {
        if (Date.now() - started > 5_000) throw new Error('the delivered event was not listed');
        const res = await fetch(`${h.url}/api/events?callSid=${callSid}&status=delivered`);
        delivered = ((await res.json()) as { events: typeof delivered }).events;
      }
      expect(delivered[0]).toMatchObject({ attempts: 3, lastError: 'HTTP 503' });
      const metrics = await (await fetch(`${h.url}/metrics`)).text();
      expect(metrics).toMatch(/bridge_events_total\{type="call.ended",status="retrying"\} [2-9]/);
      expect(metrics).toMatch(/bridge_event_delivery_seconds_count [1-9]/);
      expect(metrics).toMatch(/^bridge_events_pending \d+$/m);
    },
  );

  it(
    'holds a call’s later events behind its first; redeliver sends again with the same id',
    { timeout: 20_000 },
    async () => {
      const callSid = await call('+15551230003');
      await until(() => envelopes('/down', callSid).length >= 3, 10_000, 'retries of call.started');
      // call.ended waits: call.started is still pending
      expect(envelopes('/down', callSid).every((e) => e.env.type === 'call.started')).toBe(true);
      const list = (await (await fetch(`${h.url}/api/events?callSid=${callSid}&status=pending`)).json()) as {
        events: { id: string; type: string }[];
      };
      expect(list.events.map((e) => e.type)).toEqual(['call.ended', 'call.started']);

      const bad = await fetch(`${h.url}/api/events/evt_nope/redeliver`, { method: 'POST' });
      expect(bad.status).toBe(404);
      expect((await fetch(`${h.url}/api/events?status=lost`)).status).toBe(400);

      // the backend recovers; redeliver tries at once instead of after the back-off
      backend.on('/down', (_req, res) => res.writeHead(200).end());
      const startedId = list.events[1]!.id;
      const redeliver = await fetch(`${h.url}/api/events/${startedId}/redeliver`, { method: 'POST' });
      expect(redeliver.status).toBe(202);
      await until(() => envelopes('/down', callSid).some((e) => e.env.type === 'call.ended'), 10_000, 'call.ended');
      const types = envelopes('/down', callSid).map((e) => e.env.type);
      expect(types.indexOf('call.ended')).toBe(types.length - 1);
      expect(
        new Set(
          envelopes('/down', callSid)
            .filter((e) => e.env.type === 'call.started')
            .map((e) => e.env.id),
        ),
      ).toEqual(new Set([startedId]));
    },
  );
});
