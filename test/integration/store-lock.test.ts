/**
 * A storage fault never takes calls down (issue #14 item 2, SPEC §8). The fault is real: a
 * second process holds `BEGIN EXCLUSIVE` on the bridge's calls.sqlite while calls are placed
 * against the bridge running as a process (`npm start`'s command, its built-in emulator as the
 * model). Before the store moved its writes off the loop, the insert at stream start waited
 * 2 s for the lock, threw an uncaught SqliteError and the process exited.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { holdExclusiveLock } from '../../bench/store/sqlite-lock.js';
import { SimulatedPhone } from '../../src/sim/phone.js';
import { silence, until } from '../support/call-harness.js';
import { startBridgeProcess } from '../support/child.js';
import { whenDone } from '../support/cleanup.js';
import { tempDir } from '../support/tmp.js';

const NUMBERS = `defaults:
  instructions: Store lock test line.
  voice: alloy
  greeting: Thanks for calling Example Dental, how can I help?
`;
const CALLS = 3;

function setup(): Record<string, string> {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'numbers.yaml'), NUMBERS);
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    NUMBERS_FILE: path.join(dir, 'numbers.yaml'),
    DATA_DIR: path.join(dir, 'data'),
    LOG_LEVEL: 'info',
  };
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

interface ApiCall {
  outcome: string;
  endedAt: string | null;
  turns: { role: string; text: string }[];
  latency: { firstAudioMs: number | null };
}

describe('a lock on calls.sqlite held by another process', () => {
  it(
    'calls placed during the lock carry audio both ways and the bridge stays up; the fault is logged and ' +
      'counted, /api/calls answers 503; after the lock goes the records are complete',
    { timeout: 45_000 },
    async () => {
      const env = setup();
      const proc = startBridgeProcess(env);
      const url = String((await proc.waitForLog('bridge listening', 20_000))['url']);
      const lock = await holdExclusiveLock(path.join(env['DATA_DIR']!, 'calls.sqlite'));
      whenDone(() => lock.release().catch(() => undefined));

      const phones = Array.from(
        { length: CALLS },
        () => new SimulatedPhone({ bridgeUrl: url, to: '+15551230001', callerAudio: silence(8_000), timeScale: 2 }),
      );
      await Promise.all(phones.map((p) => p.dial()));
      // the greeting (≈3 s of speech) plays to the end: the model's audio reached every phone
      await until(() => phones.every((p) => p.nowMs() > 6_000), 15_000, 'the greetings to play');
      for (const phone of phones) {
        expect(phone.stats.framesSent).toBeGreaterThan(100);
        expect(phone.stats.framesReceived).toBeGreaterThan(100);
      }
      await Promise.all(phones.map((p) => p.hangUp()));

      const fault = await proc.waitForLog('call store write failed; it and the writes after it are kept and retried');
      expect(fault).toMatchObject({ op: 'insertCall', code: 'SQLITE_BUSY' });
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metric(metrics, 'bridge_store_errors_total{op="insertCall"}')).toBe(1);
      expect(metric(metrics, 'bridge_store_queued_writes')).toBeGreaterThanOrEqual(CALLS * 3);
      const refused = await fetch(`${url}/api/calls`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(((await refused.json()) as { error: string }).error).toMatch(
        /call store is unavailable \(SQLITE_BUSY: locked by another process or failing\); \d+ writes are queued/,
      );
      expect(proc.child.exitCode).toBeNull();

      await lock.release();
      await proc.waitForLog('call store writes resumed');
      for (const phone of phones) {
        const res = await fetch(`${url}/api/calls/${phone.callSid}`);
        expect(res.status).toBe(200);
        const call = (await res.json()) as ApiCall;
        expect(call.outcome).toBe('caller_hung_up');
        expect(call.endedAt).not.toBeNull();
        expect(call.latency.firstAudioMs).toBeGreaterThan(0);
        expect(call.turns[0]?.role).toBe('assistant');
        expect(call.turns[0]?.text).toContain('Thanks for calling');
      }
      const after = await (await fetch(`${url}/metrics`)).text();
      expect(metric(after, 'bridge_store_queued_writes')).toBe(0);
      expect(after).not.toMatch(/^bridge_store_dropped_total\{/m);

      proc.child.kill('SIGTERM');
      expect((await proc.exited).code).toBe(0);
    },
  );

  it(
    'start-up against a file that is not a database exits 1 with one line naming the file',
    { timeout: 15_000 },
    async () => {
      const env = setup();
      const file = path.join(env['DATA_DIR']!, 'calls.sqlite');
      mkdirSync(env['DATA_DIR']!, { recursive: true });
      writeFileSync(file, 'not a database: a text file where the call store should be\n'.repeat(20));
      const proc = startBridgeProcess(env);
      expect((await proc.exited).code).toBe(1);
      expect(proc.stderr()).toContain(`cannot open the call store ${file}: file is not a database (SQLITE_NOTADB)`);
    },
  );
});
