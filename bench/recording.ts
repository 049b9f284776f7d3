/**
 * `npm run bench -- recording`: what recording every call costs, as a paired comparison in
 * one run of the load bench's set-up (bench/load.ts): for each run and audio mode, one step
 * with `RECORD_CALLS=0` and one with `RECORD_CALLS=1`, back to back, each on a fresh server,
 * the order alternating between runs so that a drift of the shared machine hits both sides.
 *
 * Per pair: server CPU per call-second and caller→model p99 over every frame, off and on, and
 * their ratios; the summary is the median ratio over the runs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { ModelAudioFormat } from '../src/protocol/realtime.js';
import { PROJECT_ROOT } from './load/children.js';
import { ProgressBar } from './load/progress.js';
import {
  benchOptions,
  fmt,
  machineInfo,
  machineLine,
  pairedStepOptions,
  preflight,
  replaceReadmeSection,
  runStep,
  stepSeconds,
  type LoadOptions,
  type StepResult,
} from './load.js';

const USAGE = `usage: npm run bench -- recording [options]
  --calls N            concurrent calls per step (default 100)
  --runs N             off/on pairs per mode (default 3; the summary is the median ratio)
  --modes pcm16,pcmu   audio modes (default both)
  --steady S           measurement window per step (default 25)
  --nice N             nice value of server and generator (default -10 where permitted)
  --no-write           no files in bench/results, README untouched
`;

interface RecordingBenchOptions {
  calls: number;
  runs: number;
  modes: ModelAudioFormat[];
  load: LoadOptions;
}

function parse(args: readonly string[]): RecordingBenchOptions | string {
  const load = pairedStepOptions(25);
  const o: RecordingBenchOptions = { calls: 100, runs: 3, modes: ['pcm16', 'pcmu'], load };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = args[i + 1];
    const n = Number(value);
    if (arg === '--no-write') {
      load.write = false;
      load.readme = null;
      continue;
    }
    if (arg === '--calls' && Number.isInteger(n) && n > 0) o.calls = n;
    else if (arg === '--runs' && Number.isInteger(n) && n > 0) o.runs = n;
    else if (arg === '--steady' && n >= 1) load.steadyS = n;
    else if (arg === '--nice' && Number.isInteger(n) && n >= -20 && n <= 19) load.nice = n;
    else if (arg === '--modes' && (value ?? '').split(',').every((m) => m === 'pcm16' || m === 'pcmu'))
      o.modes = (value ?? '').split(',') as ModelAudioFormat[];
    else return `unknown or invalid argument: ${arg}\n${USAGE}`;
    i++;
  }
  return o;
}

interface Pair {
  run: number;
  mode: ModelAudioFormat;
  off: StepResult;
  on: StepResult;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const cpuRatio = (p: Pair) => p.on.cpuMsPerCallSecond / p.off.cpuMsPerCallSecond;
const p99Ratio = (p: Pair) => (p.on.window.up.p99Ms ?? NaN) / (p.off.window.up.p99Ms ?? NaN);

function render(date: string, machine: ReturnType<typeof machineInfo>, o: RecordingBenchOptions, pairs: Pair[]) {
  const lines = [
    `### Recording on vs off (${date})`,
    '',
    `Machine: ${machineLine(machine)}. ${o.calls} calls per step, ${o.load.steadyS} s measured after ` +
      `${o.load.warmupS} s warm-up; each pair is two fresh servers back to back, the order alternating per run.`,
    '',
    '| run | mode | server CPU ms per call-s off / on | ratio | caller→model p50 / p99 every frame (ms) off ' +
      '| on | p99 ratio | recorded bytes per call-s | lost frames off / on | load average |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const p of pairs) {
    const bytes = p.on.recordingBytesPerCallSecond;
    lines.push(
      `| ${p.run} | ${p.mode} | ${fmt(p.off.cpuMsPerCallSecond, 2)} / ${fmt(p.on.cpuMsPerCallSecond, 2)} ` +
        `| ${fmt(cpuRatio(p), 2)}× | ${fmt(p.off.window.up.p50Ms, 2)} / ${fmt(p.off.window.up.p99Ms, 2)} ` +
        `| ${fmt(p.on.window.up.p50Ms, 2)} / ${fmt(p.on.window.up.p99Ms, 2)} | ${fmt(p99Ratio(p), 2)}× ` +
        `| ${bytes === null || bytes === undefined ? '–' : `${fmt(bytes / 1024, 1)} kB`} ` +
        `| ${p.off.lost} / ${p.on.lost} | ${fmt(p.off.loadAverage1m, 1)}, ${fmt(p.on.loadAverage1m, 1)} |`,
    );
  }
  lines.push('');
  for (const mode of o.modes) {
    const own = pairs.filter((p) => p.mode === mode);
    if (own.length === 0) continue;
    lines.push(
      `* ${mode}, median of ${own.length}: recording on costs ${fmt(median(own.map(cpuRatio)), 2)}× the CPU ` +
        `and ${fmt(median(own.map(p99Ratio)), 2)}× the caller→model p99 of recording off.`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

export async function runRecordingBench(args: readonly string[]): Promise<number> {
  const o = benchOptions(args, USAGE, parse);
  if (typeof o === 'number') return o;
  const pinning = preflight(o.load.nice);
  if (pinning === null) return 1;
  const machine = machineInfo(pinning);
  const date = new Date().toISOString().slice(0, 10);
  const plan: { run: number; mode: ModelAudioFormat; record: boolean }[] = [];
  for (let run = 1; run <= o.runs; run++)
    for (const mode of o.modes)
      for (const record of run % 2 === 1 ? [false, true] : [true, false]) plan.push({ run, mode, record });
  const stepS = stepSeconds(o.calls, o.load, o.load.steadyS);
  const bar = new ProgressBar(plan.length * stepS);
  const done = new Map<string, StepResult>();
  const pairs: Pair[] = [];
  let doneS = 0;
  for (const step of plan) {
    const label = `run ${step.run} ${step.mode} recording ${step.record ? 'on' : 'off'}`;
    const result = await runStep(step.mode, o.calls, { ...o.load, recordCalls: step.record }, pinning, {
      progress: (s, what) => bar.update(doneS + Math.min(s, stepS), `${label}: ${what}`),
    });
    doneS += stepS;
    bar.newline();
    process.stderr.write(
      `${label}: ${fmt(result.cpuMsPerCallSecond, 2)} ms CPU per call-s, caller→model p99 ` +
        `${fmt(result.window.up.p99Ms, 2)} ms, ${result.verdict}\n`,
    );
    const other = done.get(`${step.run} ${step.mode}`);
    if (other === undefined) done.set(`${step.run} ${step.mode}`, result);
    else
      pairs.push({
        run: step.run,
        mode: step.mode,
        off: step.record ? other : result,
        on: step.record ? result : other,
      });
  }
  const report = render(date, machine, o, pairs);
  process.stdout.write(`\n${report}`);
  if (o.load.write) {
    mkdirSync(path.join(PROJECT_ROOT, o.load.outDir), { recursive: true });
    const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-');
    const base = path.join(PROJECT_ROOT, o.load.outDir, `recording-${stamp}`);
    writeFileSync(`${base}.json`, `${JSON.stringify({ date, machine, options: o, pairs }, null, 2)}\n`);
    writeFileSync(`${base}.md`, report);
    process.stderr.write(`recording bench: wrote ${path.relative(PROJECT_ROOT, base)}.{json,md}\n`);
  }
  if (o.load.readme !== null) replaceReadmeSection(o.load.readme, 'recording-bench', report);
  return 0;
}
