/**
 * `npm run bench -- events`: the call events of SPEC §10.
 *
 * 1. Delivery latency: an in-process bridge sends the events of `--latency-calls` short calls
 *    (placed one after the other by the simulated phone) to a local backend that answers at
 *    once; per event, the time from `createdAt` (stored) to the backend receiving it.
 * 2. Frame latency with a backlog: the load bench's step (bench/load.ts: the real server pinned
 *    to one core, `--calls` live calls from the generator on the other) twice on fresh servers,
 *    without events, and with `EVENTS_URL` pointing at a slow backend (each request answered
 *    after `--slow-ms`) and `--backlog` pending events stored in the database before the
 *    server starts, so delivery runs through the whole window. Frame latency p99 both ways.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { SimulatedPhone } from '../src/sim/phone.js';
import { CallsRepo, writes } from '../src/store/calls-repo.js';
import { startInProcessBridge } from './in-process-bridge.js';
import {
  benchOptions,
  fmt,
  machineInfo,
  machineLine,
  pairedStepOptions,
  preflight,
  replaceReadmeSection,
  runStep,
  type LoadOptions,
  type StepResult,
} from './load.js';

const USAGE = `usage: npm run bench -- events [options]
  --latency-calls N   calls whose events measure delivery latency (default 50)
  --calls N           live calls in the frame-latency steps (default 100)
  --backlog N         pending events when the server starts (default 1000)
  --slow-ms MS        how long the slow backend takes per request (default 2000)
  --steady S          measurement window per step (default 15)
  --no-write          README untouched
`;

interface Options {
  latencyCalls: number;
  calls: number;
  backlog: number;
  slowMs: number;
  load: LoadOptions;
}

function parse(args: readonly string[]): Options | string {
  const load = pairedStepOptions(15);
  const o: Options = { latencyCalls: 50, calls: 100, backlog: 1000, slowMs: 2000, load };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const n = Number(args[i + 1]);
    if (arg === '--no-write') {
      load.write = false;
      load.readme = null;
      continue;
    }
    if (arg === '--latency-calls' && Number.isInteger(n) && n > 0) o.latencyCalls = n;
    else if (arg === '--calls' && Number.isInteger(n) && n > 0) o.calls = n;
    else if (arg === '--backlog' && Number.isInteger(n) && n >= 0) o.backlog = n;
    else if (arg === '--slow-ms' && Number.isInteger(n) && n >= 0) o.slowMs = n;
    else if (arg === '--steady' && n >= 1) load.steadyS = n;
    else return `unknown or invalid argument: ${arg}\n${USAGE}`;
    i++;
  }
  return o;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A local events backend: answers after `delayMs`; `received` holds each event's stored-to-received ms. */
async function eventsBackend(
  delayMs: number,
): Promise<{ url: string; received: number[]; close: () => Promise<void> }> {
  const received: number[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const { createdAt } = JSON.parse(body) as { createdAt: string };
      received.push(Date.now() - Date.parse(createdAt));
      if (delayMs === 0) res.writeHead(204).end();
      else setTimeout(() => res.writeHead(204).end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function deliveryLatency(calls: number): Promise<number[]> {
  const backend = await eventsBackend(0);
  const b = await startInProcessBridge(`defaults:\n  webhooks: { url: "${backend.url}" }\n`, 'events');
  try {
    for (let i = 0; i < calls; i++) {
      const phone = new SimulatedPhone({
        bridgeUrl: b.bridge.localUrl,
        to: '+15551230001',
        callerAudio: Buffer.alloc(3_200, 0xff),
      });
      await phone.dial();
      await phone.hangUp();
    }
    const deadline = Date.now() + 10_000;
    while (backend.received.length < 2 * calls && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return [...backend.received];
  } finally {
    await b.close();
    await backend.close();
  }
}

/** Stores `count` pending events (one call each) for `url` in the database under `dataDir`. */
function seedBacklog(dataDir: string, count: number, url: string): void {
  const repo = new CallsRepo(path.join(dataDir, 'calls.sqlite'));
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const callSid = `CAbacklog${String(i).padStart(6, '0')}`;
    repo.apply(
      writes.startCall(
        { callSid, from: '+15550000000', to: '+15551230001', profile: 'defaults', startedAtMs: now },
        { id: `evt_backlog${i}`, type: 'call.started', callSid, url, createdAtMs: now, data: { callSid } },
      ),
    );
  }
  repo.close();
}

export async function runEventsBench(args: readonly string[]): Promise<number> {
  const o = benchOptions(args, USAGE, parse);
  if (typeof o === 'number') return o;
  const latencies = await deliveryLatency(o.latencyCalls);
  process.stderr.write(`delivery: ${latencies.length} events, p50 ${fmt(percentile(latencies, 50), 1)} ms\n`);

  const pinning = preflight(o.load.nice);
  if (pinning === null) return 1;
  const slow = await eventsBackend(o.slowMs);
  const progress = { progress: (_s: number, what: string) => process.stderr.write(`\r${what.padEnd(60)}`) };
  let without: StepResult;
  let backlog: StepResult;
  try {
    without = await runStep('pcm16', o.calls, o.load, pinning, progress);
    backlog = await runStep(
      'pcm16',
      o.calls,
      {
        ...o.load,
        server: {
          env: { EVENTS_URL: slow.url },
          prepareDataDir: (dir) => seedBacklog(dir, o.backlog, slow.url),
        },
      },
      pinning,
      progress,
    );
  } finally {
    await slow.close();
  }
  process.stderr.write('\n');
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const row = (name: string, r: StepResult) =>
    `| ${name} | ${fmt(r.window.up.p50Ms, 2)} / ${fmt(r.window.up.p99Ms, 2)} ` +
    `| ${fmt(r.window.down.p50Ms, 2)} / ${fmt(r.window.down.p99Ms, 2)} | ${fmt(r.cpuMsPerCallSecond, 2)} ` +
    `| ${fmt(r.loopP99Ms, 1)} | ${r.lost} | ${fmt(r.loadAverage1m, 1)} | ${r.verdict} |`;
  const report = [
    `### Events (${date})`,
    '',
    `Machine: ${machineLine(machineInfo(pinning))}.`,
    '',
    `Delivery latency, stored → received by a local backend, ${latencies.length} events of ${o.latencyCalls} ` +
      `calls: **p50 ${fmt(percentile(latencies, 50), 1)} ms, p99 ${fmt(percentile(latencies, 99), 1)} ms**.`,
    '',
    `Frame latency, ${o.calls} live calls (pcm16), ${o.load.steadyS} s measured; with a backlog: ${o.backlog} ` +
      `pending events at start-up and every call's own events, sent to a backend that answers after ${o.slowMs} ms ` +
      `(${slow.received.length} requests reached it during the step).`,
    '',
    '| step | caller→model p50 / p99 (ms) | model→caller p50 / p99 (ms) | CPU ms per call-s | loop p99 (ms) ' +
      '| lost frames | load average | verdict |',
    '|---|---|---|---|---|---|---|---|',
    row('no events', without),
    row(`${o.backlog}-event backlog`, backlog),
    '',
    `p99 moved by ${fmt((backlog.window.up.p99Ms ?? NaN) - (without.window.up.p99Ms ?? NaN), 2)} ms caller→model and ` +
      `${fmt((backlog.window.down.p99Ms ?? NaN) - (without.window.down.p99Ms ?? NaN), 2)} ms model→caller.`,
    '',
  ].join('\n');
  process.stdout.write(`\n${report}`);
  if (o.load.readme !== null) replaceReadmeSection(o.load.readme, 'events-bench', report);
  return 0;
}
