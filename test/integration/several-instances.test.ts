/**
 * Several instances, one line (issue #21, SPEC §14): three real bridge processes, started the
 * way `npm start` starts them, on one PostgreSQL (a schema of this file's own). Any instance
 * serves any part of any call: the webhook on A, the stream on B; the token replayed at C is
 * refused; C lists B's live call; a profile edited on A is used by B's next call; a hang-up
 * sent to C ends a call B holds; B killed
 * with SIGKILL mid-call is marked `incomplete` by a survivor within 30 s and its pending event
 * is delivered by a survivor; calls spread over the three leave one record each and lose no
 * frame.

 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { SimulatedPhone } from '../../src/sim/phone.js';
import { parseStreamTwiml } from '../../src/sim/twiml.js';
import { PgDatabase } from '../../src/store/pg-database.js';
import { silence, until } from '../support/call-harness.js';
import { startBridgeProcess, type BridgeProcess } from '../support/child.js';
import { whenDone } from '../support/cleanup.js';
import { PG_URL, testSchema, urlWithSchema } from '../support/postgres.js';
import { tempDir } from '../support/tmp.js';

interface Instance {
  name: string;
  url: string;
  process: BridgeProcess;
}

interface ListedCall {
  callSid: string;
  outcome: string;
}

/** An events backend that answers 503 until `up` is set. */
async function eventsBackend(): Promise<{ url: string; ids: Map<string, string>; setUp(up: boolean): void }> {
  const ids = new Map<string, string>();
  let up = false;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      if (!up) {
        res.writeHead(503).end();
        return;
      }
      const env = JSON.parse(body) as { id: string; callSid: string; type: string };
      ids.set(env.id, `${env.callSid} ${env.type}`);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  whenDone(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, ids, setUp: (u) => (up = u) };
}

/** Every call record `instance` lists, page by page. */
async function calls(instance: Instance): Promise<ListedCall[]> {
  const all: ListedCall[] = [];
  let cursor: string | null = null;
  do {
    const res = await fetch(`${instance.url}/api/calls?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { calls: ListedCall[]; next: string | null };
    all.push(...page.calls);
    cursor = page.next;
  } while (cursor !== null);
  return all;
}

async function framesIn(instance: Instance): Promise<number> {
  const text = await (await fetch(`${instance.url}/metrics`)).text();
  return Number(/^bridge_frames_in_total (\d+)/m.exec(text)?.[1] ?? 0);
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(PG_URL === null)('several instances on one PostgreSQL', () => {
  it(
    'webhook on A, stream on B, replay at C refused, C lists and survives B, 150 calls once each',
    // three processes start (~2 s each on two busy cores), a lease expires (15 s + a beat), 150 calls
    { timeout: 120_000 },
    async () => {
      const schema = testSchema();
      // migrated once here, so the three processes start on a ready schema
      await (await PgDatabase.open(PG_URL!, { schema })).close();
      const backend = await eventsBackend();
      const dir = tempDir();
      writeFileSync(path.join(dir, 'numbers.yaml'), 'defaults:\n  instructions: Several instances test line.\n');
      const start = async (name: string): Promise<Instance> => {
        const process = startBridgeProcess({
          PORT: '0',
          HOST: '127.0.0.1',
          NUMBERS_FILE: path.join(dir, 'numbers.yaml'),
          DATA_DIR: path.join(dir, name),
          RECORD_CALLS: '0',
          EVENTS_URL: backend.url,
          DATABASE_URL: urlWithSchema(PG_URL!, schema),
          INSTANCE_ID: name,
          MAX_CONCURRENT_CALLS: '100',
        });
        const url = String((await process.waitForLog('bridge listening', 20_000))['url']);
        return { name, url, process };
      };
      const [a, b, c] = await Promise.all([start('a'), start('b'), start('c')]);

      // the webhook on A issues the token; the stream opens on B
      const phone = new SimulatedPhone({ bridgeUrl: a.url, to: '+15551230001', callerAudio: silence(60_000) });
      const twiml = await (
        await fetch(`${a.url}/twilio/voice`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ CallSid: phone.callSid, From: '+15550001111', To: '+15551230001' }).toString(),
        })
      ).text();
      const stream = parseStreamTwiml(twiml)!;
      const mediaUrl = (instance: Instance) => `${instance.url.replace(/^http/, 'ws')}/twilio/media`;
      await phone.connect(mediaUrl(b), stream.parameters);
      // the same token replayed at C: refused before any model session
      const replay = new SimulatedPhone({ bridgeUrl: c.url, to: '+15551230001', callSid: phone.callSid });
      await replay.connect(mediaUrl(c), stream.parameters);
      expect(await replay.closed()).toBe(1008);
      await c.process.waitForLog(/media stream rejected/);

      // C lists B's live call, and its call.started event is pending (the backend is down)
      await waitFor('B’s call listed on C', 5_000, async () =>
        (await calls(c)).some((x) => x.callSid === phone.callSid && x.outcome === 'in_progress') ? true : null,
      );
      await waitFor('B’s call.started tried', 10_000, async () => {
        const res = await fetch(`${c.url}/api/events?callSid=${phone.callSid}`);
        const { events } = (await res.json()) as { events: { attempts: number; status: string }[] };
        return events.some((e) => e.attempts >= 1 && e.status === 'pending') ? true : null;
      });

      // a profile edited on A is B's within 1 s, and B's next call to that number uses it
      const edited = Date.now();
      const put = await fetch(`${a.url}/api/numbers/%2B15551230009`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instructions: 'Edited on A.' }),
      });
      expect(put.status).toBe(200);
      await waitFor('the edit on B', 1_000, async () => {
        const listed = await (await fetch(`${b.url}/api/numbers`)).text();
        return listed.includes('Edited on A.') ? true : null;
      });
      const profileMs = Date.now() - edited;
      const onB = new SimulatedPhone({ bridgeUrl: b.url, to: '+15551230009', callerAudio: silence(200) });
      await onB.dial();
      await onB.hangUp();
      await waitFor('the call on B recorded with the edited profile', 5_000, async () => {
        const res = await fetch(`${c.url}/api/calls/${onB.callSid}`);
        return res.status === 200 && ((await res.json()) as { profile: string }).profile === '+15551230009'
          ? true
          : null;
      });

      // /api/live on C shows a call B holds; hang up via C: B ends it, the phone's stream closes
      const live = new AbortController();
      const feed = await fetch(`${c.url}/api/live`, { signal: live.signal });
      expect(feed.status).toBe(200);
      let seen = '';
      const reading = (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of feed.body as unknown as AsyncIterable<Uint8Array>) seen += decoder.decode(chunk);
      })().catch(() => undefined);
      const held = new SimulatedPhone({ bridgeUrl: b.url, to: '+15551230001', callerAudio: silence(30_000) });
      await held.dial();
      await until(
        () => seen.includes('event: call.started') && seen.includes(held.callSid),
        5_000,
        'B’s call on C’s /api/live',
      );
      live.abort();
      await reading;
      await waitFor('the held call listed', 5_000, async () =>
        (await calls(c)).some((x) => x.callSid === held.callSid) ? true : null,
      );
      const hangUp = await fetch(`${c.url}/api/calls/${held.callSid}/hangup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(hangUp.status).toBe(202);
      await held.closed();
      await waitFor('the held call ended by the operator', 5_000, async () => {
        const res = await fetch(`${a.url}/api/calls/${held.callSid}`);
        const record = (await res.json()) as { outcome: string; detail: string | null };
        return record.outcome === 'completed' && record.detail === 'operator hung up' ? true : null;
      });
      const notLive = await fetch(`${c.url}/api/calls/CA${'0'.repeat(32)}/hangup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(notLive.status).toBe(404);

      // B dies mid-call; a survivor marks its call and delivers its event
      b.process.child.kill('SIGKILL');
      const killedAt = Date.now();
      await b.process.exited;
      backend.setUp(true);
      await waitFor('B’s call marked incomplete', 30_000, async () =>
        (await calls(a)).find((x) => x.callSid === phone.callSid)?.outcome === 'incomplete' ? true : null,
      );
      const markedMs = Date.now() - killedAt;
      expect(markedMs).toBeLessThan(30_000);
      await until(
        () => [...backend.ids.values()].includes(`${phone.callSid} call.started`),
        30_000,
        'B’s call.started delivered by a survivor',
      );

      // 150 calls over the survivors and a fresh B: one record each, every frame counted
      const b2 = await start('b2');
      const instances = [a, c, b2];
      const before = await Promise.all(instances.map(framesIn));
      const phones: SimulatedPhone[] = [];
      const BATCH = 30;
      for (let i = 0; i < 150; i += BATCH) {
        const batch = Array.from({ length: BATCH }, (_, j) => {
          const at = instances[(i + j) % 3]!;
          return new SimulatedPhone({ bridgeUrl: at.url, to: '+15551230001', callerAudio: silence(600) });
        });
        await Promise.all(batch.map((p) => p.dial()));
        await Promise.all(batch.map((p) => p.hangUp()));
        phones.push(...batch);
      }
      const sent = phones.reduce((n, p) => n + p.stats.framesSent, 0);
      const received = await waitFor('every frame counted', 10_000, async () => {
        const after = await Promise.all(instances.map(framesIn));
        const total = after.reduce((n, x, i) => n + x - before[i]!, 0);
        return total >= sent ? total : null;
      });
      expect(received).toBe(sent);
      const listed = await waitFor('150 records', 10_000, async () => {
        const all = await calls(c);
        const ours = all.filter((x) => phones.some((p) => p.callSid === x.callSid));
        return ours.length === 150 && ours.every((x) => x.outcome !== 'in_progress') ? all : null;
      });
      expect(new Set(listed.map((x) => x.callSid)).size).toBe(listed.length);
      process.stdout.write(
        `several instances: profile edit on B after ${profileMs} ms; ` +
          `B's call marked incomplete ${markedMs} ms after SIGKILL; ` +
          `150 calls, ${sent} frames sent, ${received} received\n`,
      );
      for (const x of [a, c, b2]) x.process.child.kill('SIGTERM');
      await Promise.all([a, c, b2].map((x) => x.process.exited));
    },
  );
});
