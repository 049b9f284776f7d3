/**
 * The two child processes of the load bench: the bridge (`node <flags> src/main.ts` with the
 * flags of `npm start`, exactly what it runs, so that the pid is the server's)
 * and the generator, each pinned to its own core with `taskset -c` when available.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { PROJECT_ROOT, startScriptNodeArgs } from '../../scripts/start-command.js';
import type { FromGenerator, ToGenerator } from './ipc.js';

export { PROJECT_ROOT };
/** the core the bridge runs on; the generator (and this process) take the other */
export const SERVER_CORE = 0;
export const GENERATOR_CORE = 1;

export interface Pinning {
  available: boolean;
  /** why not, when unavailable */
  reason: string | null;
  /**
   * nice value of the server's and the generator's sessions (0 = normal). On a VM shared with
   * other work, a negative value lets the two bench processes have their cores when they need
   * them, which is what "the server on one core" assumes; reports say which value was used.
   */
  nice: number;
}

/**
 * Whether `taskset -c` works here and there are at least two cores to pin to, and whether
 * the bench may raise its children's priority to `nice`. Linux groups processes by session
 * for CPU fairness (autogroup): a plain nice value counts only inside its own session, so each
 * child gets its own session and the nice value is written to /proc/<pid>/autogroup (needs
 * CAP_SYS_NICE for a negative value; else 0 is used and the report says so).
 */
export function checkPinning(cores: number, nice: number): Pinning {
  let niceValue = nice;
  if (nice !== 0) {
    // in a session of its own, so that the probe changes no one else's group
    const probe = spawnSync('setsid', ['sh', '-c', `echo ${nice} > /proc/self/autogroup && cat /proc/self/autogroup`], {
      encoding: 'utf8',
    });
    if (probe.status !== 0 || !probe.stdout.includes(`nice ${nice}`)) niceValue = 0;
  }
  if (cores < 2)
    return { available: false, reason: `only ${cores} core(s): server and generator share it`, nice: niceValue };
  const probe = spawnSync('taskset', ['-c', String(GENERATOR_CORE), 'true'], { stdio: 'ignore' });
  if (probe.error !== undefined || probe.status !== 0) {
    return {
      available: false,
      reason: `taskset unavailable (${probe.error?.message ?? `exit ${probe.status}`}): processes are not pinned`,
      nice: niceValue,
    };
  }
  return { available: true, reason: null, nice: niceValue };
}

/** Gives a child started with `detached: true` (its own session) the bench's priority. */
function applyNice(child: ChildProcess, pinning: Pinning): void {
  if (pinning.nice === 0 || child.pid === undefined) return;
  try {
    writeFileSync(`/proc/${child.pid}/autogroup`, String(pinning.nice));
  } catch {
    // checked in checkPinning; a child that already exited has nothing to prioritise
  }
}

/** Children still running when this process exits are killed (they live in their own sessions). */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function track(child: ChildProcess, pinning: Pinning): void {
  applyNice(child, pinning);
  running.add(child);
  child.once('exit', () => running.delete(child));
}

/** Pins this process (the bench's controller) to the generator's core, so it never steals the server's. */
export function pinSelf(pinning: Pinning): void {
  if (pinning.available)
    spawnSync('taskset', ['-pc', String(GENERATOR_CORE), String(process.pid)], { stdio: 'ignore' });
}

function command(pinning: Pinning, core: number, args: string[]): [string, string[]] {
  return pinning.available ? ['taskset', ['-c', String(core), process.execPath, ...args]] : [process.execPath, args];
}

/** A free TCP port on 127.0.0.1 (the bridge logs nothing at LOG_LEVEL=warn, so it cannot be asked). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited */
  stop(graceMs?: number): Promise<void>;
  /** log lines at warn or above (JSON lines with level ≥ 40, or any non-JSON output) */
  warnings(): string[];
}

export async function startServer(options: {
  pinning: Pinning;
  env: Record<string, string>;
  port: number;
  logFile: string;
  cpuProfDir?: string;
  nodeArgs?: string[];
}): Promise<ServerProcess> {
  const nodeArgs = [...(options.nodeArgs ?? []), ...startScriptNodeArgs()];
  if (options.cpuProfDir !== undefined) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
  nodeArgs.push('src/main.ts');
  const [cmd, args] = command(options.pinning, SERVER_CORE, nodeArgs);
  const log = openSync(options.logFile, 'w');
  const child = spawn(cmd, args, {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      ...options.env,
      PORT: String(options.port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', log, log],
    detached: true,
  });
  track(child, options.pinning);
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = performance.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the bridge exited during start-up:\n${readFileSync(options.logFile, 'utf8').slice(0, 2000)}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the bridge did not answer /healthz within 30 s');
    }
    await sleep(100);
  }
  return {
    child,
    pid: child.pid!,
    url,
    logFile: options.logFile,
    async stop(graceMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
    },
    warnings() {
      const out: string[] = [];
      for (const line of readFileSync(options.logFile, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        try {
          const entry = JSON.parse(line) as { level?: number; msg?: string };
          if ((entry.level ?? 0) >= 40) out.push(line);
        } catch {
          out.push(line);
        }
      }
      return out;
    },
  };
}

/** The generator child and a request/response channel over IPC. */
export class GeneratorProcess {
  private readonly child: ChildProcess;
  private waiters: { type: FromGenerator['type']; resolve: (m: FromGenerator) => void; reject: (e: Error) => void }[] =
    [];
  onProgress: ((dialed: number, failed: number) => void) | null = null;

  /** @param cpuProfDir profile the generator too (`node --cpu-prof`): its profiles go to `<cpuProfDir>/generator/` */
  constructor(pinning: Pinning, cpuProfDir: string | null = null) {
    const prof = cpuProfDir !== null ? ['--cpu-prof', `--cpu-prof-dir=${path.join(cpuProfDir, 'generator')}`] : [];
    const [cmd, args] = command(pinning, GENERATOR_CORE, [...prof, '--import', 'tsx', 'bench/load/generator.ts']);
    this.child = spawn(cmd, args, {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      detached: true,
    });
    track(this.child, pinning);
    this.child.on('message', (msg: FromGenerator) => this.onMessage(msg));
    this.child.on('exit', (code, signal) => {
      const error = new Error(`the generator exited (${code ?? signal})`);
      for (const w of this.waiters.splice(0)) w.reject(error);
    });
  }

  private onMessage(msg: FromGenerator): void {
    if (msg.type === 'progress') {
      this.onProgress?.(msg.dialed, msg.failed);
      return;
    }
    if (msg.type === 'fatal') {
      const error = new Error(`generator failed: ${msg.message}`);
      for (const w of this.waiters.splice(0)) w.reject(error);
      return;
    }
    const index = this.waiters.findIndex((w) => w.type === msg.type);
    if (index >= 0) this.waiters.splice(index, 1)[0]!.resolve(msg);
  }

  /** Sends `msg` and resolves with the first reply of type `reply`. */
  request<T extends FromGenerator['type']>(msg: ToGenerator, reply: T): Promise<Extract<FromGenerator, { type: T }>> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ type: reply, resolve: resolve as (m: FromGenerator) => void, reject });
      this.child.send(msg);
    });
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      this.child.send({ type: 'exit' } satisfies ToGenerator);
    } catch {
      this.child.kill('SIGKILL');
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
