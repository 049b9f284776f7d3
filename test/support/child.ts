/**
 * Runs the real entry point as a child process exactly as `npm start` does
 * (`node <the flags of npm start> src/main.ts`: one process, so SIGKILL and SIGTERM reach
 * the bridge itself) and reads its JSON log lines, for start-up, crash and shutdown tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';

import { PROJECT_ROOT, startScriptNodeArgs } from '../../scripts/start-command.js';
import { whenDone } from './cleanup.js';

export { PROJECT_ROOT };

export interface BridgeProcess {
  child: ChildProcess;
  stdout: string[];
  stderr: () => string;
  /** resolves with the first JSON log line whose msg matches */
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the bridge with `env` (on top of PATH and HOME only) in `cwd`; `args` are node's
 * arguments, npm start's by default.
 */
export function startBridgeProcess(
  env: Record<string, string>,
  cwd = PROJECT_ROOT,
  args: readonly string[] = [...startScriptNodeArgs(), 'src/main.ts'],
): BridgeProcess {
  const child = spawn(process.execPath, args, {
    // its own process group, so the cleanup below reaches anything it starts
    detached: true,
    cwd,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  let stderr = '';
  let pending = '';
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] =
    [];
  const lines: Record<string, unknown>[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const text = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      stdout.push(text);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      lines.push(line);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.match(line)) waiters.splice(i, 1)[0]!.resolve(line);
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  whenDone(() => {
    // SIGKILL to tsx alone would orphan the bridge it runs (still listening, still recording).
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
  });
  return {
    child,
    stdout,
    stderr: () => stderr,
    exited,
    waitForLog(msg, timeoutMs = 8_000) {
      const match = (l: Record<string, unknown>) =>
        typeof l['msg'] === 'string' && (typeof msg === 'string' ? l['msg'] === msg : msg.test(l['msg']));
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`log ${String(msg)} not seen; stderr: ${stderr}`)), timeoutMs);
        waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`process exited before log ${String(msg)}; stderr: ${stderr}`));
        });
      });
    },
  };
}
