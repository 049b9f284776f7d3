/**
 * Events survive a crash (SPEC §10, issue #17): the bridge, a real child process started the
 * way `npm start` starts it, stores call events while their backend is down; it is killed with
 * SIGKILL while they are pending; the backend comes up and a new process starts on the same
 * data. Every event is delivered, none is lost, and any duplicate carries the same id.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { SimulatedPhone } from '../../src/sim/phone.js';
import { silence, until } from '../support/call-harness.js';
import { startBridgeProcess } from '../support/child.js';
import { tempDir } from '../support/tmp.js';

const CALLS = 4;

interface Received {
  id: string;
  type: string;
  callSid: string;
  atMs: number;
}

/** The events backend: down (its port closed) until `up()`. */
async function eventsBackend(): Promise<{ url: string; received: Received[]; up(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const env = JSON.parse(body) as { id: string; type: string; callSid: string };
      received.push({ id: env.id, type: env.type, callSid: env.callSid, atMs: Date.now() });
      res.writeHead(204).end();
    });
  });
  // a free port, closed again: connections are refused until the backend comes up on it
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${port}/events`,
    received,
    up: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
  };
}

interface ListedEvent {
  id: string;
  type: string;
  callSid: string;
  status: string;
  attempts: number;
}

async function listEvents(url: string): Promise<ListedEvent[]> {
  const res = await fetch(`${url}/api/events?limit=100`);
  return ((await res.json()) as { events: ListedEvent[] }).events;
}

describe('event durability', () => {
  it(
    'SIGKILL with events pending, restart, backend up: every event delivered, duplicates only with the same id',
    { timeout: 60_000 },
    async () => {
      const backend = await eventsBackend();
      const dir = tempDir();
      writeFileSync(path.join(dir, 'numbers.yaml'), 'defaults:\n  instructions: Durability test line.\n');
      const env = {
        PORT: '0',
        HOST: '127.0.0.1',
        NUMBERS_FILE: path.join(dir, 'numbers.yaml'),
        DATA_DIR: path.join(dir, 'data'),
        RECORD_CALLS: '0',
        EVENTS_URL: backend.url,
      };
      const first = startBridgeProcess(env);
      const url = String((await first.waitForLog('bridge listening'))['url']);
      const callSids: string[] = [];
      for (let i = 0; i < CALLS; i++) {
        const phone = new SimulatedPhone({ bridgeUrl: url, to: '+15551230001', callerAudio: silence(400) });
        await phone.dial();
        await phone.hangUp();
        callSids.push(phone.callSid);
      }
      // every event stored and tried at least once against the dead backend
      let stored: ListedEvent[] = [];
      await (async () => {
        const started = Date.now();
        for (;;) {
          stored = await listEvents(url);
          if (stored.length === 2 * CALLS && stored.every((e) => e.attempts >= 1 || e.type === 'call.ended')) return;
          if (Date.now() - started > 15_000) throw new Error(`events not stored: ${JSON.stringify(stored)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      expect(stored.every((e) => e.status === 'pending')).toBe(true);
      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');

      await backend.up();
      const second = startBridgeProcess(env);
      await second.waitForLog('bridge listening');
      const restartedAt = Date.now();
      const ids = new Set(stored.map((e) => e.id));
      await until(() => ids.size === new Set(backend.received.map((r) => r.id)).size, 20_000, 'every event delivered');
      const deliveredMs = Math.max(...backend.received.map((r) => r.atMs)) - restartedAt;

      const receivedIds = new Set(backend.received.map((r) => r.id));
      expect(receivedIds).toEqual(ids);
      // per call: call.started first, then call.ended, each id once or repeated as itself
      for (const callSid of callSids) {
        const forCall = backend.received.filter((r) => r.callSid === callSid);
        const firstSeen = [...new Map(forCall.map((r) => [r.id, r.type])).values()];
        expect(firstSeen).toEqual(['call.started', 'call.ended']);
      }
      // pending events are tried at once after a restart, not after the back-off they had reached
      expect(deliveredMs).toBeLessThan(5_000);
      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
    },
  );
});
