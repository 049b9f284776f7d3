/**
 * `npm run bench -- store [--calls 20] [--writes 5000] [--no-write]`: the call store under a
 * lock (issue #14 item 2, SPEC §8: store writes never block the event loop more than 5 ms).
 *
 * 1. **What a write costs the loop**, three ways, `--writes` transcript turns each (one in ten
 *    8,000 characters, the longest kept): a synchronous insert on the loop with the old 2 s
 *    busy timeout while another connection holds `BEGIN EXCLUSIVE` (one attempt: it waits the
 *    full timeout and throws); a synchronous insert with busy timeout 0 and no lock (what a
 *    "short busy timeout plus a retry queue on the loop" design pays, WAL checkpoints included);
 *    and the store as built — posting to the writer thread — with no lock and under a lock.
 * 2. **Calls during a lock.** The bridge runs as a process (`npm start`'s command, its built-in
 *    emulator as the model). A second process takes `BEGIN EXCLUSIVE` on its calls.sqlite, then
 *    `--calls` simulated phones call in real time: greeting, a question, the answer. Counted:
 *    calls with audio both ways, the bridge's event-loop delay p99 over the lock
 *    (`bridge_event_loop_delay_p99_seconds`, from `perf_hooks.monitorEventLoopDelay` in the
 *    bridge, read at the lock's start and end), the store metrics, whether the process stayed
 *    up; then, after the release, how long until every record is complete.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import Database from 'better-sqlite3';

import { PROJECT_ROOT, startScriptNodeArgs } from '../scripts/start-command.js';
import { parseWav } from '../src/audio/wav.js';
import { SimulatedPhone } from '../src/sim/phone.js';
import { CallsRepo } from '../src/store/calls-repo.js';
import { SqliteCallStore } from '../src/store/sqlite-call-store.js';
import { SystemClock } from '../src/util/clock.js';
import { createLogger } from '../src/util/logger.js';
import { holdExclusiveLock } from './store/sqlite-lock.js';

const NUMBERS = `defaults:
  instructions: Store bench line.
  voice: alloy
  greeting: Thanks for calling Example Dental, how can I help?
  transcription: { model: whisper-1 }
`;
const LONG_TURN = 'word '.repeat(1_600);
const SHORT_TURN = 'What are your opening hours on Saturday, please?';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const silence = (ms: number) => Buffer.alloc(ms * 8, 0xff);
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

interface Timing {
  writes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function timing(samples: number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { writes: sorted.length, p50Ms: round(at(0.5)), p99Ms: round(at(0.99)), maxMs: round(sorted.at(-1) ?? 0) };
}

function turn(i: number) {
  return { role: 'caller' as const, text: i % 10 === 0 ? LONG_TURN : SHORT_TURN, truncated: false, atMs: i };
}

function lockInProcess(file: string): () => void {
  const db = new Database(file);
  db.exec('BEGIN EXCLUSIVE');
  return () => {
    db.exec('COMMIT');
    db.close();
  };
}

interface LoopCost {
  syncBusy2000UnderLock: { waitedMs: number; threw: string };
  syncBusy0NoLock: Timing;
  writerThreadNoLock: Timing;
  writerThreadUnderLock: Timing & { landedAfterReleaseMs: number };
}

async function loopCost(dir: string, n: number): Promise<LoopCost> {
  const seed = { callSid: 'CA0', from: '+15550001111', to: '+15551230001', profile: 'p', startedAtMs: 0 };

  // the old store: a write on the loop waits out busy_timeout = 2000 behind a lock, then throws
  const oldFile = path.join(dir, 'old.sqlite');
  const old = new CallsRepo(oldFile, { busyTimeoutMs: 2_000 });
  old.startCall(seed);
  let release = lockInProcess(oldFile);
  let started = performance.now();
  let threw = '';
  try {
    old.addTurn('CA0', turn(1));
  } catch (err) {
    threw = (err as { code?: string }).code ?? String(err);
  }
  const waitedMs = round(performance.now() - started, 1);
  release();
  old.close();

  // busy timeout 0 on the loop, no lock: the cost a retry-queue-on-the-loop design would pay
  const syncFile = path.join(dir, 'sync.sqlite');
  const sync = new CallsRepo(syncFile, { busyTimeoutMs: 0 });
  sync.startCall(seed);
  const syncTimes: number[] = [];
  for (let i = 0; i < n; i++) {
    started = performance.now();
    sync.addTurn('CA0', turn(i));
    syncTimes.push(performance.now() - started);
  }
  sync.close();

  // the store as built
  const logger = createLogger({ level: 'silent' });
  const monitor = { onError: () => undefined, onDropped: () => undefined, onQueued: () => undefined };
  const threadFile = path.join(dir, 'thread.sqlite');
  const store = new SqliteCallStore(new CallsRepo(threadFile, { busyTimeoutMs: 0 }), {
    logger,
    clock: new SystemClock(),
    monitor,
  });
  store.startCall(seed);
  const post = (): number[] => {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      started = performance.now();
      store.addTurn('CA0', turn(i));
      times.push(performance.now() - started);
    }
    return times;
  };
  const freeTimes = post();
  await store.flush(60_000);
  release = lockInProcess(threadFile);
  const lockedTimes = post();
  await sleep(500);
  const releasedAt = performance.now();
  release();
  await store.flush(60_000);
  const landedAfterReleaseMs = round(performance.now() - releasedAt, 1);
  await store.close();

  return {
    syncBusy2000UnderLock: { waitedMs, threw },
    syncBusy0NoLock: timing(syncTimes),
    writerThreadNoLock: timing(freeTimes),
    writerThreadUnderLock: { ...timing(lockedTimes), landedAfterReleaseMs },
  };
}

interface BridgeChild {
  url: string;
  logs: Record<string, unknown>[];
  exitCode(): number | null;
  stop(): Promise<number | null>;
}

async function startBridge(env: Record<string, string>): Promise<BridgeChild> {
  const child = spawn(process.execPath, [...startScriptNodeArgs(), 'src/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: Record<string, unknown>[] = [];
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const text = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      try {
        logs.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        continue;
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = performance.now() + 20_000;
  while (!logs.some((l) => l['msg'] === 'bridge listening')) {
    if (performance.now() > deadline || child.exitCode !== null) throw new Error('the bridge did not start');
    await sleep(20);
  }
  return {
    url: String(logs.find((l) => l['msg'] === 'bridge listening')!['url']),
    logs,
    exitCode: () => child.exitCode,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

interface CallsDuringLock {
  calls: number;
  audioBothWays: number;
  minFramesSent: number;
  minFramesReceived: number;
  loopDelayP99DuringLockMs: number;
  lockHeldS: number;
  storeErrorsTotal: number;
  storeQueuedAtRelease: number;
  storeDropped: number;
  apiDuringLock: number;
  processStayedUp: boolean;
  recordsCompleteAfterRelease: number;
  recordsCompleteWithinMs: number;
}

async function callsDuringLock(dir: string, calls: number, withLock: boolean): Promise<CallsDuringLock> {
  writeFileSync(path.join(dir, 'numbers.yaml'), NUMBERS);
  const dataDir = path.join(dir, 'data');
  const bridge = await startBridge({
    PORT: '0',
    HOST: '127.0.0.1',
    NUMBERS_FILE: path.join(dir, 'numbers.yaml'),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
  });
  const wav = parseWav(readFileSync(path.join(PROJECT_ROOT, 'test/fixtures/audio/caller_hours.ulaw8k.wav')));
  if (!wav.ok) throw new Error(wav.reason);
  const callerAudio = Buffer.concat([silence(5_500), Buffer.from(wav.value.data), silence(6_000)]);

  const lock = withLock ? await holdExclusiveLock(path.join(dataDir, 'calls.sqlite')) : null;
  const lockedAt = performance.now();
  await scrape(bridge.url); // starts the event-loop delay window
  const phones = Array.from(
    { length: calls },
    () => new SimulatedPhone({ bridgeUrl: bridge.url, to: '+15551230001', callerAudio }),
  );
  for (const phone of phones) {
    await phone.dial();
    await sleep(100);
  }
  const callMs = callerAudio.length / 8;
  while (phones.some((p) => p.nowMs() < callMs)) await sleep(100);
  await Promise.all(phones.map((p) => p.hangUp()));
  await sleep(500);
  const apiDuringLock = (await fetch(`${bridge.url}/api/calls`)).status;
  const during = await scrape(bridge.url);
  const lockHeldS = round((performance.now() - lockedAt) / 1000, 1);
  const processStayedUp = bridge.exitCode() === null;

  const releasedAt = performance.now();
  await lock?.release();
  let complete = 0;
  let completeAt = releasedAt;
  while (performance.now() - releasedAt < 30_000) {
    complete = 0;
    for (const phone of phones) {
      const res = await fetch(`${bridge.url}/api/calls/${phone.callSid}`);
      if (res.status !== 200) continue;
      const call = (await res.json()) as {
        outcome: string;
        endedAt: string | null;
        turns: { role: string }[];
        latency: { firstAudioMs: number | null };
      };
      // every write of the call landed: its start, the greeting's turn and latency, its end
      if (
        call.outcome === 'caller_hung_up' &&
        call.endedAt !== null &&
        call.turns[0]?.role === 'assistant' &&
        call.latency.firstAudioMs !== null
      )
        complete++;
    }
    completeAt = performance.now();
    if (complete === calls) break;
    await sleep(100);
  }
  const sum = (prefix: string, m: Map<string, number>) =>
    [...m].filter(([k]) => k.startsWith(prefix)).reduce((s, [, v]) => s + v, 0);
  await bridge.stop();
  return {
    calls,
    audioBothWays: phones.filter((p) => p.stats.framesSent > 100 && p.stats.framesReceived > 100).length,
    minFramesSent: Math.min(...phones.map((p) => p.stats.framesSent)),
    minFramesReceived: Math.min(...phones.map((p) => p.stats.framesReceived)),
    loopDelayP99DuringLockMs: round((during.get('bridge_event_loop_delay_p99_seconds') ?? NaN) * 1000, 2),
    lockHeldS,
    storeErrorsTotal: sum('bridge_store_errors_total', during),
    storeQueuedAtRelease: during.get('bridge_store_queued_writes') ?? 0,
    storeDropped: sum('bridge_store_dropped_total', during),
    apiDuringLock,
    processStayedUp,
    recordsCompleteAfterRelease: complete,
    recordsCompleteWithinMs: round(completeAt - releasedAt, 0),
  };
}

export async function runStoreBench(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      calls: { type: 'string', default: '20' },
      writes: { type: 'string', default: '5000' },
      // the same calls with no lock: what the machine's own load does to the loop
      'no-lock': { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
    },
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'store-bench-'));
  // the machine's own load moves every loop-delay figure: each report says what it was
  const loadBefore = os.loadavg()[0]!;
  try {
    const cost = await loopCost(dir, Number(values.writes));
    process.stdout.write(`What one write costs the event loop (${values.writes} turns, 1 in 10 of 8,000 chars):\n`);
    process.stdout.write(
      `  sync insert, busy_timeout 2000, under a lock: waited ${cost.syncBusy2000UnderLock.waitedMs} ms, ` +
        `then threw ${cost.syncBusy2000UnderLock.threw}\n`,
    );
    const row = (name: string, t: Timing) =>
      `  ${name.padEnd(44)} p50 ${t.p50Ms} ms  p99 ${t.p99Ms} ms  max ${t.maxMs} ms\n`;
    process.stdout.write(row('sync insert, busy_timeout 0, no lock:', cost.syncBusy0NoLock));
    process.stdout.write(row('writer thread (post), no lock:', cost.writerThreadNoLock));
    process.stdout.write(row('writer thread (post), under a lock:', cost.writerThreadUnderLock));
    process.stdout.write(
      `  queued writes all landed ${cost.writerThreadUnderLock.landedAfterReleaseMs} ms after release\n`,
    );

    const withLock = !values['no-lock'];
    const during = await callsDuringLock(dir, Number(values.calls), withLock);
    process.stdout.write(
      `\n${during.calls} calls placed ${withLock ? 'while another process held BEGIN EXCLUSIVE' : 'with no lock'}:\n`,
    );
    for (const [k, v] of Object.entries(during)) process.stdout.write(`  ${k.padEnd(30)} ${String(v)}\n`);

    const ok =
      during.audioBothWays === during.calls &&
      during.processStayedUp &&
      during.loopDelayP99DuringLockMs < 20 &&
      during.recordsCompleteAfterRelease === during.calls &&
      during.apiDuringLock === (withLock ? 503 : 200);
    const load = { before: round(loadBefore, 1), after: round(os.loadavg()[0]!, 1), cores: os.cpus().length };
    process.stdout.write(`  1-min load average             ${load.before} → ${load.after} on ${load.cores} cores\n`);
    process.stdout.write(`\n${ok ? 'PASS' : 'FAIL'}: all calls carried audio, p99 < 20 ms, records complete\n`);
    if (!values['no-write']) {
      const resultsDir = path.join(PROJECT_ROOT, 'bench/results');
      mkdirSync(resultsDir, { recursive: true });
      writeFileSync(
        path.join(
          resultsDir,
          `store-${new Date().toISOString().slice(0, 16).replace(':', '-')}${withLock ? '' : '-no-lock'}.json`,
        ),
        `${JSON.stringify({ date: new Date().toISOString(), load, withLock, cost, during }, null, 2)}\n`,
      );
    }
    return ok ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
