/**
 * `npm run bench -- startup [--runs 7] [--calls 20] [--call-seconds 8] [--no-build] [--no-write]`:
 * the compiled build (`npm run start:prod`, what the image runs) against `npm start` (the
 * sources through scripts/ts-loader.mjs) and against tsx, the loader `npm start` used before,
 * each started as a child process with npm start's flags.
 *
 * Four ways to start, interleaved run by run so machine noise hits all of them:
 * - `compiled`: `node <flags> dist/main.js`;
 * - `npm start`: `node <flags> --import ./scripts/ts-loader.mjs src/main.ts` (no cache: every
 *   start strips the types afresh);
 * - `tsx`: `node <flags> --import tsx src/main.ts` with tsx's compile cache warm (a developer's
 *   second start);
 * - `tsx-cold`: the same with `TSX_DISABLE_CACHE=1`, as a fresh machine would start (its
 *   cache folder is empty).
 *
 * Per run: start-up = spawn → first `/healthz` 200 (wall time, and the child's CPU seconds
 * by then from /proc); RSS (VmRSS) at that moment; then `--calls` simulated phones call at
 * once, each speaking a real recording (caller_hours) and staying `--call-seconds` against
 * the built-in emulator, with RSS sampled every 100 ms: the peak, and RSS after the calls
 * hang up. Medians over `--runs`, plus min–max. Linux only (/proc).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { compiledStartNodeArgs, PROJECT_ROOT, startScriptNodeArgs } from '../scripts/start-command.js';
import { parseWav } from '../src/audio/wav.js';
import { SimulatedPhone } from '../src/sim/phone.js';
import { procAvailable, processCpuSeconds, processRssBytes } from './load/proc-stats.js';

type Mode = 'compiled' | 'npm start' | 'tsx' | 'tsx-cold';
const MODES: readonly Mode[] = ['compiled', 'npm start', 'tsx', 'tsx-cold'];

interface RunResult {
  mode: Mode;
  startupMs: number;
  startupCpuS: number;
  rssAtStartMb: number;
  rssPeakUnderLoadMb: number;
  rssAfterLoadMb: number;
  callsCompleted: number;
}

const MB = 1024 * 1024;

/** npm start's flags with its loader swapped for tsx. */
function tsxArgs(): string[] {
  const args = startScriptNodeArgs();
  const loader = args.indexOf('--import');
  if (loader < 0) throw new Error('npm start has no --import loader');
  return [...args.slice(0, loader), '--import', 'tsx', ...args.slice(loader + 2), 'src/main.ts'];
}

function command(mode: Mode): string[] {
  if (mode === 'compiled') return [...compiledStartNodeArgs(), 'dist/main.js'];
  if (mode === 'npm start') return [...startScriptNodeArgs(), 'src/main.ts'];
  return tsxArgs();
}

/** Starts the bridge; resolves with the child and its URL once `/healthz` answered 200. */
async function start(
  mode: Mode,
  dataDir: string,
): Promise<{ child: ChildProcess; url: string; startupMs: number; startupCpuS: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, command(mode), {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      ...(mode === 'tsx-cold' ? { TSX_DISABLE_CACHE: '1' } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const line = pending.split('\n').find((l) => l.includes('"msg":"bridge listening"'));
      if (line !== undefined) resolve(String((JSON.parse(line) as { url: string }).url));
    });
    child.once('exit', (code) => reject(new Error(`${mode}: exited with ${code} before listening`)));
  });
  for (;;) {
    const res = await fetch(`${url}/healthz`).catch(() => null);
    if (res?.status === 200) break;
    await sleep(5);
  }
  const startupMs = performance.now() - started;
  return { child, url, startupMs, startupCpuS: processCpuSeconds(child.pid!) };
}

async function run(mode: Mode, calls: number, callSeconds: number, callerAudio: Uint8Array): Promise<RunResult> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-startup-'));
  try {
    const { child, url, startupMs, startupCpuS } = await start(mode, dataDir);
    const pid = child.pid!;
    const rssAtStartMb = processRssBytes(pid) / MB;
    let peak = rssAtStartMb;
    const sampler = setInterval(() => (peak = Math.max(peak, processRssBytes(pid) / MB)), 100);
    const phones = Array.from(
      { length: calls },
      () => new SimulatedPhone({ bridgeUrl: url, to: '+15551230001', callerAudio }),
    );
    const outcomes = await Promise.allSettled(
      phones.map(async (phone) => {
        await phone.dial();
        await sleep(callSeconds * 1000);
        await phone.hangUp();
      }),
    );
    await sleep(500);
    clearInterval(sampler);
    const failed = outcomes.find((o) => o.status === 'rejected');
    if (failed !== undefined) process.stderr.write(`${mode}: a call failed: ${String(failed.reason)}\n`);
    const rssAfterLoadMb = processRssBytes(pid) / MB;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    return {
      mode,
      startupMs,
      startupCpuS,
      rssAtStartMb,
      rssPeakUnderLoadMb: peak,
      rssAfterLoadMb,
      callsCompleted: outcomes.filter((o) => o.status === 'fulfilled').length,
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const FIGURES = [
  ['startupMs', 'start-up, spawn → /healthz 200 (ms)', 0],
  ['startupCpuS', 'CPU by then (s)', 2],
  ['rssAtStartMb', 'RSS at start-up (MB)', 1],
  ['rssPeakUnderLoadMb', 'RSS peak under load (MB)', 1],
  ['rssAfterLoadMb', 'RSS after the calls (MB)', 1],
] as const;

function report(results: RunResult[], calls: number, callSeconds: number): string {
  const header = `| figure | ${MODES.join(' | ')} |\n|---|${MODES.map(() => '---').join('|')}|\n`;
  const rows = FIGURES.map(([key, label, digits]) => {
    const cells = MODES.map((mode) => {
      const values = results.filter((r) => r.mode === mode).map((r) => r[key]);
      const fmt = (v: number) => v.toFixed(digits);
      return `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;
    });
    return `| ${label} | ${cells.join(' | ')} |`;
  });
  const completed = MODES.map((m) => {
    const rs = results.filter((r) => r.mode === m);
    return `${m} ${rs.reduce((n, r) => n + r.callsCompleted, 0)}/${rs.length * calls}`;
  });
  return (
    `node ${process.version}; median (min–max) of ${results.length / MODES.length} runs each; ` +
    `load: ${calls} simultaneous calls of ${callSeconds} s (transcoding, built-in emulator)\n\n` +
    `${header}${rows.join('\n')}\n\ncalls completed: ${completed.join(', ')}\n`
  );
}

export async function runStartupBench(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      runs: { type: 'string', default: '7' },
      calls: { type: 'string', default: '20' },
      'call-seconds': { type: 'string', default: '8' },
      'no-build': { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
    },
  });
  if (!procAvailable()) {
    process.stderr.write('startup bench: needs Linux /proc\n');
    return 1;
  }
  const runs = Number(values.runs);
  const calls = Number(values.calls);
  const callSeconds = Number(values['call-seconds']);
  if (!values['no-build']) {
    process.stderr.write('npm run build…\n');
    execFileSync('npm', ['run', 'build'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const wav = parseWav(readFileSync(path.join(PROJECT_ROOT, 'test/fixtures/audio/caller_hours.ulaw8k.wav')));
  if (!wav.ok) throw new Error(wav.reason);

  const results: RunResult[] = [];
  for (let i = 0; i < runs; i++) {
    // rotate the order so that no mode always runs first (or right after another's load)
    const order = MODES.map((_, k) => MODES[(i + k) % MODES.length]!);
    for (const mode of order) {
      const result = await run(mode, calls, callSeconds, wav.value.data);
      results.push(result);
      process.stderr.write(
        `run ${i + 1}/${runs} ${mode.padEnd(8)} start-up ${result.startupMs.toFixed(0)} ms ` +
          `(${result.startupCpuS.toFixed(2)} s CPU), RSS ${result.rssAtStartMb.toFixed(1)} → ` +
          `${result.rssPeakUnderLoadMb.toFixed(1)} MB\n`,
      );
    }
  }
  const text = report(results, calls, callSeconds);
  process.stdout.write(text);
  if (!values['no-write']) {
    const dir = path.join(PROJECT_ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const stamp = new Date().toISOString().slice(0, 16).replace(/[T:]/g, '-');
    writeFileSync(path.join(dir, `startup-${stamp}.json`), `${JSON.stringify({ results }, null, 2)}\n`);
    writeFileSync(path.join(dir, `startup-${stamp}.md`), text);
  }
  return 0;
}
