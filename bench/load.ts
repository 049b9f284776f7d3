/**
 * `npm run bench -- load`: how many concurrent calls one core of the real bridge carries.
 *
 * The bridge runs as a child process (`node --import ./scripts/ts-loader.mjs src/main.ts`, i.e. `npm start`)
 * pinned to core 0 with `taskset`; a generator process pinned to core 1 hosts N lean
 * simulated phones (bench/load/lean-phone.ts: Twilio's protocol, real-time send and playout
 * clocks, marks echoed as played) and a lean fake realtime model (bench/load/fake-model.ts:
 * the GA wire protocol, an answer of `--answer` s every `--answer-every` s, streamed
 * `--speed`× faster than real time). Each N runs against a fresh server, once per audio mode
 * (`pcm16` transcoding, `pcmu` passthrough), modes interleaved so machine noise hits both.
 *
 * Per step: ramp at `--ramp` calls/s, `--warmup` s, then a `--steady` s window in which
 * frame latencies (both ways, one clock), server CPU (utime + stime from /proc/<pid>/stat),
 * RSS (VmRSS), event-loop p99 (`/metrics`) and the generator's own CPU are measured; then
 * frames sent before a snapshot that have not arrived 1 s later are lost. A mode's sweep stops
 * at the first step with lost frames, failed or dropped calls, protocol errors, or a frame
 * latency p99 past the late threshold (more than 1 % of frames late).
 *
 * `npm run bench -- soak`: one server, `--calls` calls for `--minutes`, RSS sampled
 * throughout; RSS at the end against minute 2 shows whether memory leaks.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ModelAudioFormat } from '../src/protocol/realtime.js';
import {
  checkPinning,
  freePort,
  GeneratorProcess,
  pinSelf,
  PROJECT_ROOT,
  startServer,
  type Pinning,
  type ServerProcess,
} from './load/children.js';
import { renderProfileSummary, summarizeCpuProfile } from './load/cpu-profile.js';
import type { GeneratorConfig, StopStats, WindowStats } from './load/ipc.js';
import { procAvailable, processCpuSeconds, processRssBytes, processRunQueueWaitSeconds } from './load/proc-stats.js';
import { ProgressBar } from './load/progress.js';

const MODES: readonly ModelAudioFormat[] = ['pcm16', 'pcmu'];
/** the two profiles of the bench's numbers file */
const NUMBER_OF: Record<ModelAudioFormat, string> = { pcm16: '+15550100016', pcmu: '+15550100008' };
const MB = 1024 * 1024;
/** Above this share of its core the generator's own delays show up in the latencies. */
const GENERATOR_SATURATED = 0.85;
/** Rough fixed seconds per step (server and generator start, hang-up, stop) for the ETA. */
const STEP_OVERHEAD_S = 6;

interface CommonOptions {
  rampPerS: number;
  warmupS: number;
  answerEveryS: number;
  answerS: number;
  speed: number;
  lateMs: number;
  settleS: number;
  tickMs: number;
  /** nice value of the server and generator (see Pinning.nice) */
  nice: number;
  /** RECORD_CALLS for the server (the recording bench turns it on; off everywhere else) */
  recordCalls: boolean;
  /** more environment for the server, and a set-up of its data folder before it starts (the events bench) */
  server?: { env: Record<string, string>; prepareDataDir?: (dataDir: string) => void };
  write: boolean;
  outDir: string;
}

export interface LoadOptions extends CommonOptions {
  steps: number[];
  modes: ModelAudioFormat[];
  steadyS: number;
  stopOnFailure: boolean;
  cpuProfDir: string | null;
  /** extra node flags for the server (diagnostics: --trace-gc, …) */
  serverNodeArgs: string[];
  readme: string | null;
}

interface SoakOptions extends CommonOptions {
  calls: number;
  minutes: number;
  mode: ModelAudioFormat;
  sampleS: number;
  readme: string | null;
}

export const COMMON_DEFAULTS: CommonOptions = {
  rampPerS: 20,
  warmupS: 5,
  answerEveryS: 5,
  answerS: 2,
  speed: 4,
  lateMs: 100,
  settleS: 1,
  tickMs: 1,
  nice: -10,
  recordCalls: false,
  write: true,
  outDir: 'bench/results',
};

/**
 * The load options of a bench that runs its own paired steps (events, recording, scale): the
 * common defaults, no sweep of its own, results beside the load bench's.
 */
export function pairedStepOptions(steadyS: number): LoadOptions {
  return {
    ...COMMON_DEFAULTS,
    steps: [],
    modes: [],
    steadyS,
    stopOnFailure: false,
    cpuProfDir: null,
    serverNodeArgs: [],
    readme: 'bench/README.md',
  };
}

const LOAD_USAGE = `usage: npm run bench -- load [options]
  --calls 25,50,100,200,300,400,500,600
                                  concurrent calls per step (default; a mode stops at its first failure)
  --modes pcm16,pcmu              audio modes, side by side per step (default both)
  --steady S                      measurement window per step (default 25)
  --warmup S                      after the ramp, before the window (default 5)
  --ramp R                        calls dialled per second (default 20)
  --answer-every S / --answer S   an answer of S s every S s per call (default 5 / 2)
  --speed X                       answer streaming speed vs real time (default 4)
  --late-ms MS                    a frame slower than this is late (default 100)
  --nice N                        nice value of server and generator (default -10 where permitted;
                                  the VM is shared: without it other work takes the cores)
  --record                        RECORD_CALLS=1 on the server (off by default; \`bench -- recording\` pairs them)
  --no-stop                       keep sweeping a mode after lost frames or a p99 past --late-ms
  --cpu-prof DIR                  profile server and generator (node --cpu-prof), print the hot functions
  --node-arg FLAG                 an extra node flag for the server, e.g. --trace-gc (repeatable)
  --quick                         --calls 25,100 --steady 8 --warmup 2
  --from-json FILE                render a saved run (bench/results/load-*.json) again, into the README too
  --no-write                      no files in bench/results, README untouched
`;

const SOAK_USAGE =
  'usage: npm run bench -- soak [--calls 100] [--minutes 10] [--mode pcm16|pcmu] [--sample S (default 10)] ' +
  '[--nice N] [--no-write]\n';

function parseCommon(arg: string, value: string | undefined, o: CommonOptions): boolean {
  const n = Number(value);
  switch (arg) {
    case '--ramp':
      o.rampPerS = n;
      return n > 0;
    case '--warmup':
      o.warmupS = n;
      return n >= 0;
    case '--answer-every':
      o.answerEveryS = n;
      return n > 0;
    case '--answer':
      o.answerS = n;
      return n > 0 && n <= 15;
    case '--speed':
      o.speed = n;
      return n >= 1;
    case '--late-ms':
      o.lateMs = n;
      return n > 0;
    case '--nice':
      o.nice = n;
      return Number.isInteger(n) && n >= -20 && n <= 19;
    default:
      return false;
  }
}

function parseLoadOptions(args: readonly string[]): LoadOptions | string {
  const o: LoadOptions = {
    ...COMMON_DEFAULTS,
    steps: [25, 50, 100, 200, 300, 400, 500, 600],
    modes: [...MODES],
    steadyS: 25,
    stopOnFailure: true,
    cpuProfDir: null,
    serverNodeArgs: [],
    readme: 'bench/README.md',
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = args[i + 1];
    if (arg === '--no-write') {
      o.write = false;
      o.readme = null;
    } else if (arg === '--no-stop') o.stopOnFailure = false;
    else if (arg === '--record') o.recordCalls = true;
    else if (arg === '--quick') {
      o.steps = [25, 100];
      o.steadyS = 8;
      o.warmupS = 2;
    } else if (arg === '--calls') {
      const steps = (value ?? '').split(',').map(Number);
      if (steps.length === 0 || steps.some((s) => !Number.isInteger(s) || s < 1))
        return `--calls wants a list of positive integers\n${LOAD_USAGE}`;
      o.steps = steps;
      i++;
    } else if (arg === '--modes') {
      const modes = (value ?? '').split(',');
      if (modes.some((m) => !MODES.includes(m as ModelAudioFormat)))
        return `--modes wants pcm16 and/or pcmu\n${LOAD_USAGE}`;
      o.modes = modes as ModelAudioFormat[];
      i++;
    } else if (arg === '--steady') {
      o.steadyS = Number(value);
      if (!(o.steadyS >= 1)) return `--steady wants seconds ≥ 1\n${LOAD_USAGE}`;
      i++;
    } else if (arg === '--node-arg') {
      if (value === undefined) return `--node-arg wants a node flag\n${LOAD_USAGE}`;
      o.serverNodeArgs.push(value);
      i++;
    } else if (arg === '--cpu-prof') {
      if (value === undefined) return `--cpu-prof wants a directory\n${LOAD_USAGE}`;
      o.cpuProfDir = path.resolve(value);
      i++;
    } else if (parseCommon(arg, value, o)) i++;
    else return `unknown or invalid argument: ${arg}\n${LOAD_USAGE}`;
  }
  return o;
}

function parseSoakOptions(args: readonly string[]): SoakOptions | string {
  const o: SoakOptions = {
    ...COMMON_DEFAULTS,
    calls: 100,
    minutes: 10,
    mode: 'pcm16',
    sampleS: 10,
    readme: 'bench/README.md',
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = args[i + 1];
    const n = Number(value);
    if (arg === '--no-write') {
      o.write = false;
      o.readme = null;
    } else if (arg === '--calls' && Number.isInteger(n) && n > 0) {
      o.calls = n;
      i++;
    } else if (arg === '--minutes' && n > 0) {
      o.minutes = n;
      i++;
    } else if (arg === '--sample' && n >= 1) {
      o.sampleS = n;
      i++;
    } else if (arg === '--mode' && MODES.includes(value as ModelAudioFormat)) {
      o.mode = value as ModelAudioFormat;
      i++;
    } else if (parseCommon(arg, value, o)) i++;
    else return `unknown or invalid argument: ${arg}\n${SOAK_USAGE}`;
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Machine and environment

export interface MachineInfo {
  cpu: string;
  cores: number;
  kernel: string;
  node: string;
  memoryGb: number;
  pinning: Pinning;
}

export function machineInfo(pinning: Pinning): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    pinning,
  };
}

function numbersYaml(): string {
  // No greeting and no transcription: every call is the same caller stream and timed answers.
  return `defaults:
  instructions: You are the load-test line. Answer briefly.
  voice: alloy
  greeting: null
  transcription: null
  tools: [hang_up]
  model_audio: pcm16
reject_unknown: true
numbers:
  "${NUMBER_OF.pcm16}":
    model_audio: pcm16
  "${NUMBER_OF.pcmu}":
    model_audio: pcmu
`;
}

async function scrapeMetrics(url: string): Promise<Record<string, number>> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const space = line.lastIndexOf(' ');
    out[line.slice(0, space)] = Number(line.slice(space + 1));
  }
  return out;
}

/** Bytes of the files directly in `dir` (0 when it does not exist). */
function dirBytes(dir: string): number {
  let total = 0;
  try {
    for (const name of readdirSync(dir)) total += statSync(path.join(dir, name)).size;
  } catch {
    // no recordings (yet)
  }
  return total;
}

const LOOP_P99 = 'bridge_event_loop_delay_p99_seconds';
const LOOP_MAX = 'nodejs_eventloop_lag_max_seconds';

// ---------------------------------------------------------------------------------------------
// One step: a fresh server and generator, N calls of one mode

export interface StepResult {
  mode: ModelAudioFormat;
  calls: number;
  dialed: number;
  failedDials: number;
  dialErrors: string[];
  loadAverage1m: number;
  window: WindowStats;
  serverCpuS: number;
  /** server CPU per call-second, ms */
  cpuMsPerCallSecond: number;
  /** server CPU as a share of its core */
  serverCoreShare: number;
  /** share of the window the server's main thread was runnable but not running (other work on its core) */
  serverWaitShare: number;
  rssIdleMb: number;
  rssLoadedMb: number;
  rssPerCallMb: number;
  /** growth of the recordings directory over the window per call-second (null: recording off) */
  recordingBytesPerCallSecond?: number | null;
  loopP99Ms: number;
  /** largest event-loop delay in the window (prom-client's nodejs_eventloop_lag_max_seconds), ms */
  loopMaxMs: number;
  generatorCoreShare: number;
  generatorSaturated: boolean;
  stop: StopStats;
  lost: number;
  late: number;
  serverWarnings: string[];
  verdict: string;
}

export interface StepHooks {
  /** seconds of this step done, and what is happening */
  progress(doneS: number, label: string): void;
}

export function stepSeconds(calls: number, o: CommonOptions, steadyS: number): number {
  return calls / o.rampPerS + o.warmupS + steadyS + o.settleS + STEP_OVERHEAD_S;
}

async function sleepWithProgress(seconds: number, tick: (leftS: number) => void): Promise<void> {
  const end = performance.now() + seconds * 1000;
  for (;;) {
    const left = (end - performance.now()) / 1000;
    if (left <= 0) return;
    tick(left);
    await sleep(Math.min(250, left * 1000));
  }
}

function generatorConfig(mode: ModelAudioFormat, o: CommonOptions): GeneratorConfig {
  return {
    mode,
    answerEveryMs: o.answerEveryS * 1000,
    answerMs: o.answerS * 1000,
    speed: o.speed,
    lateMs: o.lateMs,
    tickMs: o.tickMs,
  };
}

interface Session {
  dir: string;
  server: ServerProcess;
  generator: GeneratorProcess;
}

async function openSession(
  mode: ModelAudioFormat,
  o: CommonOptions,
  pinning: Pinning,
  cpuProfDir: string | null,
  nodeArgs: string[] = [],
): Promise<Session> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-load-'));
  const numbersFile = path.join(dir, 'numbers.yaml');
  writeFileSync(numbersFile, numbersYaml());
  o.server?.prepareDataDir?.(path.join(dir, 'data'));
  const generator = new GeneratorProcess(pinning, cpuProfDir);
  try {
    const { modelPort } = await generator.request({ type: 'init', config: generatorConfig(mode, o) }, 'ready');
    const server = await startServer({
      pinning,
      port: await freePort(),
      logFile: path.join(dir, 'server.log'),
      env: {
        REALTIME_URL: `ws://127.0.0.1:${modelPort}/v1/realtime`,
        RECORD_CALLS: o.recordCalls ? '1' : '0',
        LOG_LEVEL: 'warn',
        DATA_DIR: path.join(dir, 'data'),
        NUMBERS_FILE: numbersFile,
        DRAIN_TIMEOUT_S: '5',
        // the bench measures what one core carries, not the admission limit (default 200)
        MAX_CONCURRENT_CALLS: '100000',
        ...o.server?.env,
      },
      nodeArgs,
      ...(cpuProfDir !== null ? { cpuProfDir } : {}),
    });
    return { dir, server, generator };
  } catch (err) {
    await generator.exit();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function closeSession(s: Session, keepLogAs: string | null = null): Promise<string[]> {
  await s.generator.exit();
  await s.server.stop();
  if (keepLogAs !== null) writeFileSync(keepLogAs, readFileSync(s.server.logFile));
  const warnings = s.server.warnings().filter((l) => !l.includes('local mode: TWILIO_AUTH_TOKEN is not set'));
  rmSync(s.dir, { recursive: true, force: true });
  return warnings;
}

async function dialAll(
  s: Session,
  mode: ModelAudioFormat,
  calls: number,
  o: CommonOptions,
  hooks: StepHooks,
  offsetS: number,
): Promise<{ dialed: number; failed: number; errors: string[] }> {
  s.generator.onProgress = (dialed, failed) =>
    hooks.progress(offsetS + (dialed + failed) / o.rampPerS, `${mode} ×${calls}: dialling ${dialed + failed}/${calls}`);
  const result = await s.generator.request(
    { type: 'dial', bridgeUrl: s.server.url, to: NUMBER_OF[mode], calls, perSecond: o.rampPerS },
    'dialed',
  );
  s.generator.onProgress = null;
  return result;
}

export async function runStep(
  mode: ModelAudioFormat,
  calls: number,
  o: LoadOptions,
  pinning: Pinning,
  hooks: StepHooks,
): Promise<StepResult> {
  const loadAverage1m = os.loadavg()[0]!;
  hooks.progress(0, `${mode} ×${calls}: starting server and generator`);
  const s = await openSession(mode, o, pinning, o.cpuProfDir, o.serverNodeArgs);
  try {
    const pid = s.server.pid;
    const rssIdle = processRssBytes(pid);
    const dial = await dialAll(s, mode, calls, o, hooks, 2);
    const rampS = 2 + calls / o.rampPerS;
    await sleepWithProgress(o.warmupS, (left) =>
      hooks.progress(rampS + o.warmupS - left, `${mode} ×${calls}: warm-up, ${Math.ceil(left)} s left`),
    );

    await scrapeMetrics(s.server.url); // resets the event-loop histogram
    await s.generator.request({ type: 'window-start' }, 'window-started');
    const recordings = path.join(s.dir, 'data', 'recordings');
    const recorded0 = dirBytes(recordings);
    const cpu0 = processCpuSeconds(pid);
    const wait0 = processRunQueueWaitSeconds(pid);
    const t0 = performance.now();
    let rssPeak = 0;
    const steadyStart = rampS + o.warmupS;
    await sleepWithProgress(o.steadyS, (left) => {
      rssPeak = Math.max(rssPeak, processRssBytes(pid));
      hooks.progress(steadyStart + o.steadyS - left, `${mode} ×${calls}: measuring, ${Math.ceil(left)} s left`);
    });
    const cpu1 = processCpuSeconds(pid);
    const wait1 = processRunQueueWaitSeconds(pid);
    const t1 = performance.now();
    const rssLoaded = processRssBytes(pid);
    const recorded1 = dirBytes(recordings);
    const { stats: window } = await s.generator.request({ type: 'window-end' }, 'window');
    const metrics = await scrapeMetrics(s.server.url);
    hooks.progress(steadyStart + o.steadyS, `${mode} ×${calls}: winding down`);
    const { stats: stop } = await s.generator.request({ type: 'stop', settleMs: o.settleS * 1000 }, 'stopped');
    const warnings = await closeSession(
      s,
      o.serverNodeArgs.length > 0 ? path.join(os.tmpdir(), `bridge-load-server-${mode}-${calls}.log`) : null,
    );

    const windowS = (t1 - t0) / 1000;
    const serverCpuS = cpu1 - cpu0;
    const active = Math.max(1, window.activeCalls);
    const generatorCoreShare = window.generatorCpuS / window.windowS;
    const lost = stop.lostUp + stop.lostDown;
    const late = window.up.late + window.down.late;
    const problems: string[] = [];
    if (dial.failed > 0) problems.push(`${dial.failed} calls failed`);
    if (lost > 0) problems.push(`${lost} frames lost`);
    // A VM stall can make a few frames late at any load; a p99 past the threshold means the server fell behind.
    const p99 = Math.max(window.up.p99Ms ?? Number.POSITIVE_INFINITY, window.down.p99Ms ?? Number.POSITIVE_INFINITY);
    if (p99 > o.lateMs) problems.push(`p99 ${p99.toFixed(0)} ms > ${o.lateMs} ms (${late} frames late)`);
    if (stop.callsDroppedByBridge > 0) problems.push(`${stop.callsDroppedByBridge} calls dropped`);
    if (stop.modelSocketsLeftOpen > 0) problems.push(`${stop.modelSocketsLeftOpen} model sockets left open`);
    if (stop.phoneProtocolErrors + stop.modelBadClientEvents + stop.unexpectedDown + stop.excessUp > 0)
      problems.push('protocol errors');
    return {
      mode,
      calls,
      dialed: dial.dialed,
      failedDials: dial.failed,
      dialErrors: dial.errors,
      loadAverage1m,
      window,
      serverCpuS,
      cpuMsPerCallSecond: (serverCpuS * 1000) / (active * windowS),
      serverCoreShare: serverCpuS / windowS,
      serverWaitShare: (wait1 - wait0) / windowS,
      rssIdleMb: rssIdle / MB,
      rssLoadedMb: rssLoaded / MB,
      rssPerCallMb: (rssLoaded - rssIdle) / MB / active,
      recordingBytesPerCallSecond: o.recordCalls ? (recorded1 - recorded0) / (active * windowS) : null,
      loopP99Ms: (metrics[LOOP_P99] ?? Number.NaN) * 1000,
      loopMaxMs: (metrics[LOOP_MAX] ?? Number.NaN) * 1000,
      generatorCoreShare,
      generatorSaturated: generatorCoreShare > GENERATOR_SATURATED,
      stop,
      lost,
      late,
      serverWarnings: warnings.slice(0, 20),
      verdict: problems.length === 0 ? 'ok' : problems.join(', '),
    };
  } catch (err) {
    await closeSession(s).catch(() => undefined);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Reports

export const fmt = (v: number | null, digits = 1) => (v === null || Number.isNaN(v) ? '–' : v.toFixed(digits));

export function machineLine(m: MachineInfo): string {
  const pin = m.pinning.available
    ? 'server pinned to core 0, generator to core 1 (taskset)'
    : `NOT pinned: ${m.pinning.reason ?? ''}`;
  const nice = m.pinning.nice !== 0 ? `, both at nice ${m.pinning.nice}` : ', normal priority';
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.kernel}, Node ${m.node}; ${pin}${nice}`;
}

export function renderLoadTable(results: readonly StepResult[]): string {
  const lines = [
    '| calls | mode | caller→model p50 / p99 (ms) | of which in the bridge: newest frame per append p50 / p99 (ms) ' +
      '| model→caller p50 / p99 (ms) | server CPU ms per call-s | server core (runnable, not running) ' +
      '| RSS per call (MB) | event-loop p99 (ms) | lost frames (up / down) | late frames (up / down) ' +
      '| generator core | result |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const w = r.window;
    const gen = `${(r.generatorCoreShare * 100).toFixed(0)} %${r.generatorSaturated ? ' (saturated)' : ''}`;
    lines.push(
      `| ${r.calls}${r.dialed !== r.calls ? ` (${r.dialed} up)` : ''} | ${r.mode} ` +
        `| ${fmt(w.up.p50Ms, 2)} / ${fmt(w.up.p99Ms, 2)} | ${fmt(w.upNewest.p50Ms, 2)} / ${fmt(w.upNewest.p99Ms, 2)} ` +
        `| ${fmt(w.down.p50Ms, 2)} / ${fmt(w.down.p99Ms, 2)} | ${fmt(r.cpuMsPerCallSecond, 2)} ` +
        `| ${(r.serverCoreShare * 100).toFixed(0)} % (waited ${(r.serverWaitShare * 100).toFixed(0)} %) ` +
        `| ${fmt(r.rssPerCallMb, 2)} | ${fmt(r.loopP99Ms, 1)} | ${r.stop.lostUp} / ${r.stop.lostDown} ` +
        `| ${w.up.late} / ${w.down.late} | ${gen} | ${r.verdict} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * RSS added per call: the least-squares slope of (RSS under load − idle RSS) against the
 * calls up, over a mode's steps. Every step is a fresh server, so start-up costs that do not
 * grow with calls (code, the young generation growing to its size) cancel out, which the
 * per-step "RSS per call" column, dividing them by few calls at small steps, does not do.
 * Null with fewer than two steps.
 */
export function rssSlopeMbPerCall(steps: readonly { calls: number; growthMb: number }[]): number | null {
  if (steps.length < 2) return null;
  const meanX = steps.reduce((a, p) => a + p.calls, 0) / steps.length;
  const meanY = steps.reduce((a, p) => a + p.growthMb, 0) / steps.length;
  let sxy = 0;
  let sxx = 0;
  for (const p of steps) {
    sxy += (p.calls - meanX) * (p.growthMb - meanY);
    sxx += (p.calls - meanX) ** 2;
  }
  return sxx === 0 ? null : sxy / sxx;
}

function rssSlopeLine(results: readonly StepResult[], modes: readonly string[]): string | null {
  const parts: string[] = [];
  for (const mode of modes) {
    const own = results.filter((r) => r.mode === mode);
    const slope = rssSlopeMbPerCall(
      own.map((r) => ({ calls: Math.max(1, r.window.activeCalls), growthMb: r.rssLoadedMb - r.rssIdleMb })),
    );
    if (slope !== null)
      parts.push(
        `${mode} ${fmt(slope, 2)} MB over ` +
          `${Math.min(...own.map((r) => r.calls))}–${Math.max(...own.map((r) => r.calls))} calls`,
      );
  }
  return parts.length > 0
    ? `* RSS added per call (slope across steps, each a fresh server, so start-up costs cancel): ${parts.join('; ')}.`
    : null;
}

function ratioLines(results: readonly StepResult[]): string[] {
  const out: string[] = [];
  const calls = [...new Set(results.map((r) => r.calls))];
  for (const n of calls) {
    const t = results.find((r) => r.calls === n && r.mode === 'pcm16');
    const p = results.find((r) => r.calls === n && r.mode === 'pcmu');
    if (t !== undefined && p !== undefined)
      out.push(`${n} calls: ${(t.cpuMsPerCallSecond / p.cpuMsPerCallSecond).toFixed(2)}×`);
  }
  return out;
}

/** The frame latency target of the issue: p99 under this, both ways, counts as "keeps up in real time". */
const P99_TARGET_MS = 10;

function summaryLines(results: readonly StepResult[], o: LoadOptions, stopped: Record<string, string>): string[] {
  const lines: string[] = [];
  const largest = (rs: StepResult[]) =>
    rs.reduce<StepResult | null>((a, r) => (a === null || r.calls > a.calls ? r : a), null);
  const describe = (r: StepResult) =>
    `${r.calls} calls (caller→model p99 ${fmt(r.window.up.p99Ms, 1)} ms, ` +
    `in the bridge ${fmt(r.window.upNewest.p99Ms, 1)} ms; model→caller p99 ${fmt(r.window.down.p99Ms, 1)} ms; ` +
    `${(r.serverCoreShare * 100).toFixed(0)} % of the server core)`;
  for (const mode of o.modes) {
    const own = results.filter((r) => r.mode === mode);
    const clean = own.filter((r) => r.verdict === 'ok');
    // Consecutive from the smallest step: a later lucky step does not count.
    const fast: StepResult[] = [];
    for (const r of [...own].sort((a, b) => a.calls - b.calls)) {
      if (
        r.verdict !== 'ok' ||
        (r.window.upNewest.p99Ms ?? Infinity) >= P99_TARGET_MS ||
        (r.window.down.p99Ms ?? Infinity) >= P99_TARGET_MS
      )
        break;
      fast.push(r);
    }
    const bestFast = largest(fast);
    const bestClean = largest(clean);
    const where = stopped[mode] ?? `no failure up to ${Math.max(...o.steps)} calls`;
    lines.push(
      `* ${mode}: frame latency p99 under ${P99_TARGET_MS} ms both ways ` +
        '(caller→model measured on the newest frame of each append) ' +
        `up to ${bestFast === null ? 'no step' : describe(bestFast)}; ` +
        `largest step without lost frames and with p99 ≤ ${o.lateMs} ms: ` +
        `${bestClean === null ? 'none' : describe(bestClean)}; stops at ${where}. ` +
        `Lost frames: ${own.reduce((a, r) => a + r.lost, 0)} in all steps.`,
    );
  }
  const slope = rssSlopeLine(results, o.modes);
  if (slope !== null) lines.push(slope);
  const ratios = ratioLines(results);
  if (ratios.length > 0) lines.push(`* server CPU per call-second, transcoding / passthrough: ${ratios.join('; ')}.`);
  const saturated = results.filter((r) => r.generatorSaturated);
  lines.push(
    saturated.length > 0
      ? `* the generator was saturated (> ${GENERATOR_SATURATED * 100} % of its core) ` +
          `at ${saturated.map((r) => `${r.mode} ×${r.calls}`).join(', ')}: those latencies are partly the generator's.`
      : `* the generator stayed under ${GENERATOR_SATURATED * 100} % of its core in every step ` +
          `(at most ${Math.max(...results.map((r) => r.generatorCoreShare * 100)).toFixed(0)} %).`,
  );
  return lines;
}

function renderLoadReport(
  date: string,
  machine: MachineInfo,
  o: LoadOptions,
  results: readonly StepResult[],
  stopped: Record<string, string>,
): string {
  const loads = results.map((r) => r.loadAverage1m);
  return [
    `### Load bench (${date})`,
    '',
    `Machine: ${machineLine(machine)}. 1-minute load average before the steps: ` +
      `${fmt(Math.min(...loads), 2)}–${fmt(Math.max(...loads), 2)} (the VM is shared).`,
    `Per step: a fresh server, ramp ${o.rampPerS} calls/s, ${o.warmupS} s warm-up, ${o.steadyS} s measured; ` +
      `an answer of ${o.answerS} s every ${o.answerEveryS} s per call, streamed ${o.speed}× real time; ` +
      `late = over ${o.lateMs} ms.`,
    '',
    renderLoadTable(results),
    ...summaryLines(results, o, stopped),
    '',
  ].join('\n');
}

export function replaceReadmeSection(readme: string, marker: string, body: string): void {
  const file = path.join(PROJECT_ROOT, readme);
  const text = readFileSync(file, 'utf8');
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  const block = `${start}\n${body.trimEnd()}\n${end}`;
  const next =
    i >= 0 && j > i ? `${text.slice(0, i)}${block}${text.slice(j + end.length)}` : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}

// ---------------------------------------------------------------------------------------------
// Runners

/**
 * A bench's options from its arguments: with `--help` it prints `usage` and gives exit code 0;
 * arguments `parse` refuses are printed and give 2.
 */
export function benchOptions<T extends object>(
  args: readonly string[],
  usage: string,
  parse: (args: readonly string[]) => T | string,
): T | number {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  const parsed = parse(args);
  if (typeof parsed !== 'string') return parsed;
  process.stderr.write(parsed);
  return 2;
}

export function preflight(nice: number): Pinning | null {
  if (!procAvailable()) {
    process.stderr.write('load bench: needs Linux /proc for the server CPU and RSS figures\n');
    return null;
  }
  const pinning = checkPinning(os.cpus().length, nice);
  if (!pinning.available) process.stderr.write(`load bench: ${pinning.reason ?? ''}\n`);
  if (pinning.nice !== nice) process.stderr.write(`load bench: nice ${nice} not permitted; running at nice 0\n`);
  pinSelf(pinning);
  return pinning;
}

export async function runLoadBench(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(LOAD_USAGE);
    return 0;
  }
  const fromJson = args.indexOf('--from-json');
  if (fromJson >= 0) return rerender(args[fromJson + 1], !args.includes('--no-write'));
  const parsed = parseLoadOptions(args);
  if (typeof parsed === 'string') {
    process.stderr.write(parsed);
    return 2;
  }
  const o = parsed;
  const pinning = preflight(o.nice);
  if (pinning === null) return 1;
  const machine = machineInfo(pinning);
  const date = new Date().toISOString().slice(0, 10);
  if (o.cpuProfDir !== null) mkdirSync(path.join(o.cpuProfDir, 'generator'), { recursive: true });

  const plan = o.steps.flatMap((calls) =>
    o.modes.map((mode) => ({ calls, mode, seconds: stepSeconds(calls, o, o.steadyS) })),
  );
  const bar = new ProgressBar(plan.reduce((a, p) => a + p.seconds, 0));
  const results: StepResult[] = [];
  const stopped: Record<string, string> = {};
  let doneS = 0;
  for (const step of plan) {
    if (stopped[step.mode] !== undefined) continue;
    const before = new Set(
      o.cpuProfDir !== null
        ? [
            ...readdirSync(o.cpuProfDir),
            ...readdirSync(path.join(o.cpuProfDir, 'generator')).map((f) => `generator/${f}`),
          ]
        : [],
    );
    let result: StepResult;
    try {
      result = await runStep(step.mode, step.calls, o, pinning, {
        progress: (s, label) => bar.update(doneS + Math.min(s, step.seconds), label),
      });
    } catch (err) {
      bar.newline();
      process.stderr.write(
        `load bench: ${step.mode} ×${step.calls} failed: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      stopped[step.mode] =
        `${step.calls} calls: the step failed (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
      doneS += step.seconds;
      continue;
    }
    doneS += step.seconds;
    results.push(result);
    bar.newline();
    process.stderr.write(
      `${step.mode} ×${step.calls}: up p99 ${fmt(result.window.up.p99Ms, 2)} ` +
        `(newest ${fmt(result.window.upNewest.p99Ms, 2)}, max ${fmt(result.window.up.maxMs, 0)}) ms, ` +
        `down p99 ${fmt(result.window.down.p99Ms, 2)} (max ${fmt(result.window.down.maxMs, 0)}) ms, ` +
        `loop p99 ${fmt(result.loopP99Ms, 1)} (max ${fmt(result.loopMaxMs, 0)}) ms, ` +
        `${fmt(result.cpuMsPerCallSecond, 2)} ms CPU per call-s ` +
        `(${(result.serverCoreShare * 100).toFixed(0)} % core, ` +
        `waited ${(result.serverWaitShare * 100).toFixed(1)} %), ` +
        `generator ${(result.generatorCoreShare * 100).toFixed(0)} % ` +
        `(loop p99 ${fmt(result.window.generatorLoopP99Ms, 1)}, max ${fmt(result.window.generatorLoopMaxMs, 0)} ms): ` +
        `${result.verdict}\n`,
    );
    if (result.serverWarnings.length > 0)
      process.stderr.write(
        `  server warnings (${result.serverWarnings.length}): ${result.serverWarnings.slice(0, 3).join('\n  ')}\n`,
      );
    if (o.cpuProfDir !== null) {
      const all = [
        ...readdirSync(o.cpuProfDir),
        ...readdirSync(path.join(o.cpuProfDir, 'generator')).map((f) => `generator/${f}`),
      ];
      for (const f of all.filter((name) => name.endsWith('.cpuprofile') && !before.has(name))) {
        const named = path.join(
          o.cpuProfDir,
          `${f.startsWith('generator/') ? 'generator' : 'server'}-${step.mode}-${step.calls}-${path.basename(f)}`,
        );
        writeFileSync(named, readFileSync(path.join(o.cpuProfDir, f)));
        rmSync(path.join(o.cpuProfDir, f));
        process.stderr.write(
          `\nprofile ${named}:\n${renderProfileSummary(summarizeCpuProfile(named, 30, PROJECT_ROOT))}\n`,
        );
      }
    }
    if (o.stopOnFailure && result.verdict !== 'ok') {
      stopped[step.mode] = `${step.calls} calls (${result.verdict})`;
      const left = plan.slice(plan.indexOf(step) + 1).filter((p) => stopped[p.mode] === undefined);
      bar.setTotal(doneS + left.reduce((a, p) => a + p.seconds, 0));
    }
  }
  bar.newline();

  const report = renderLoadReport(date, machine, o, results, stopped);
  process.stdout.write(`\n${report}`);
  if (o.write) {
    mkdirSync(path.join(PROJECT_ROOT, o.outDir), { recursive: true });
    const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-');
    const base = path.join(PROJECT_ROOT, o.outDir, `load-${stamp}`);
    writeFileSync(`${base}.json`, `${JSON.stringify({ date, machine, options: o, stopped, results }, null, 2)}\n`);
    writeFileSync(`${base}.md`, report);
    process.stderr.write(`load bench: wrote ${path.relative(PROJECT_ROOT, base)}.{json,md}\n`);
  }
  if (o.readme !== null) {
    replaceReadmeSection(o.readme, 'load-bench', report);
    process.stderr.write(`load bench: updated the table in ${o.readme}\n`);
  }
  return 0;
}

/** Renders a saved run again (after a change of the report's format), and puts it in the README unless --no-write. */
function rerender(file: string | undefined, write: boolean): number {
  if (file === undefined) {
    process.stderr.write(`--from-json wants a bench/results/load-*.json file\n${LOAD_USAGE}`);
    return 2;
  }
  const saved = JSON.parse(readFileSync(file, 'utf8')) as {
    date: string;
    machine: MachineInfo;
    options: LoadOptions;
    stopped: Record<string, string>;
    results: StepResult[];
  };
  const report = renderLoadReport(saved.date, saved.machine, saved.options, saved.results, saved.stopped);
  process.stdout.write(report);
  if (write) {
    writeFileSync(file.replace(/\.json$/, '.md'), report);
    if (saved.options.readme !== null) replaceReadmeSection(saved.options.readme, 'load-bench', report);
  }
  return 0;
}

interface SoakSample {
  atS: number;
  rssMb: number;
  cpuS: number;
  loopP99Ms: number;
}

export async function runSoakBench(args: readonly string[]): Promise<number> {
  const o = benchOptions(args, SOAK_USAGE, parseSoakOptions);
  if (typeof o === 'number') return o;
  const pinning = preflight(o.nice);
  if (pinning === null) return 1;
  const machine = machineInfo(pinning);
  const date = new Date().toISOString().slice(0, 10);
  const durationS = o.minutes * 60;
  const bar = new ProgressBar(durationS + STEP_OVERHEAD_S);
  bar.update(0, `soak: starting server and generator`);
  const s = await openSession(o.mode, o, pinning, null);
  const pid = s.server.pid;
  const samples: SoakSample[] = [];
  let window: WindowStats;
  let stop: StopStats;
  let rssIdleMb: number;
  try {
    rssIdleMb = processRssBytes(pid) / MB;
    const t0 = performance.now();
    const elapsedS = () => (performance.now() - t0) / 1000;
    const sample = async () => {
      const metrics = await scrapeMetrics(s.server.url);
      samples.push({
        atS: elapsedS(),
        rssMb: processRssBytes(pid) / MB,
        cpuS: processCpuSeconds(pid),
        loopP99Ms: (metrics[LOOP_P99] ?? Number.NaN) * 1000,
      });
    };
    await sample();
    const dial = await dialAll(
      s,
      o.mode,
      o.calls,
      o,
      { progress: (_d, label) => bar.update(elapsedS(), `soak: ${label}`) },
      0,
    );
    if (dial.failed > 0) throw new Error(`${dial.failed} calls failed: ${dial.errors.join('; ')}`);
    await sleepWithProgress(o.warmupS, () => bar.update(elapsedS(), 'soak: warm-up'));
    await s.generator.request({ type: 'window-start' }, 'window-started');
    let nextSample = elapsedS();
    while (elapsedS() < durationS) {
      if (elapsedS() >= nextSample) {
        await sample();
        nextSample += o.sampleS;
      }
      bar.update(
        elapsedS(),
        `soak: ${o.calls} × ${o.mode}, ${Math.ceil(durationS - elapsedS())} s left, ` +
          `RSS ${fmt(samples[samples.length - 1]!.rssMb, 0)} MB`,
      );
      await sleep(250);
    }
    await sample();
    window = (await s.generator.request({ type: 'window-end' }, 'window')).stats;
    stop = (await s.generator.request({ type: 'stop', settleMs: o.settleS * 1000 }, 'stopped')).stats;
  } finally {
    bar.newline();
  }
  const warnings = await closeSession(s);

  const at = (seconds: number) =>
    samples.reduce((best, x) => (Math.abs(x.atS - seconds) < Math.abs(best.atS - seconds) ? x : best));
  const minute2 = at(120);
  const end = samples[samples.length - 1]!;
  const changePct = ((end.rssMb - minute2.rssMb) / minute2.rssMb) * 100;
  const cpuMsPerCallSecond = ((end.cpuS - minute2.cpuS) * 1000) / (o.calls * (end.atS - minute2.atS));
  const peak = Math.max(...samples.map((x) => x.rssMb));
  const loopP99 = Math.max(...samples.slice(1).map((x) => x.loopP99Ms));
  const lines = [
    `### Soak (${date})`,
    '',
    `Machine: ${machineLine(machine)}.`,
    `${o.calls} ${o.mode} calls for ${o.minutes} min on one server ` +
      `(ramp ${o.rampPerS}/s; an answer of ${o.answerS} s every ${o.answerEveryS} s per call).`,
    '',
    '| RSS idle (MB) | RSS at minute 2 (MB) | RSS at the end (MB) | change | peak (MB) ' +
      '| CPU ms per call-s (min 2 → end) | caller→model p50 / p99 (ms) | of which in the bridge p50 / p99 (ms) ' +
      '| model→caller p50 / p99 (ms) | worst event-loop p99 per sample (ms) | lost (up / down) | late (up / down) ' +
      '| generator core |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    `| ${fmt(rssIdleMb)} | ${fmt(minute2.rssMb)} | ${fmt(end.rssMb)} ` +
      `| ${changePct >= 0 ? '+' : ''}${fmt(changePct)} % | ${fmt(peak)} | ${fmt(cpuMsPerCallSecond, 2)} ` +
      `| ${fmt(window.up.p50Ms, 2)} / ${fmt(window.up.p99Ms, 2)} ` +
      `| ${fmt(window.upNewest.p50Ms, 2)} / ${fmt(window.upNewest.p99Ms, 2)} ` +
      `| ${fmt(window.down.p50Ms, 2)} / ${fmt(window.down.p99Ms, 2)} | ${fmt(loopP99)} ` +
      `| ${stop.lostUp} / ${stop.lostDown} | ${window.up.late} / ${window.down.late} ` +
      `| ${((window.generatorCpuS / window.windowS) * 100).toFixed(0)} % |`,
    '',
    `RSS by minute (MB): ${Array.from({ length: Math.floor(end.atS / 60) + 1 }, (_v, m) => at(m * 60))
      .map((x) => `${(x.atS / 60).toFixed(0)}: ${x.rssMb.toFixed(0)}`)
      .join(', ')}; every ${o.sampleS} s in the JSON.`,
    `Acceptance: RSS at the end within 10 % of minute 2: ${Math.abs(changePct) <= 10 ? 'met' : 'NOT met'} ` +
      `(${changePct >= 0 ? '+' : ''}${fmt(changePct)} %).`,
    '',
  ];
  const report = lines.join('\n');
  process.stdout.write(`\n${report}`);
  if (warnings.length > 0)
    process.stderr.write(`server warnings (${warnings.length}): ${warnings.slice(0, 5).join('\n  ')}\n`);
  if (o.write) {
    mkdirSync(path.join(PROJECT_ROOT, o.outDir), { recursive: true });
    const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-');
    const base = path.join(PROJECT_ROOT, o.outDir, `soak-${stamp}`);
    const json = { date, machine, options: o, rssIdleMb, samples, window, stop, serverWarnings: warnings.slice(0, 20) };
    writeFileSync(`${base}.json`, `${JSON.stringify(json, null, 2)}\n`);
    writeFileSync(`${base}.md`, report);
    process.stderr.write(`soak: wrote ${path.relative(PROJECT_ROOT, base)}.{json,md}\n`);
  }
  if (o.readme !== null) replaceReadmeSection(o.readme, 'soak', report);
  return 0;
}
