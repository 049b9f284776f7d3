/**
 * Process figures from Linux /proc, for the server child of the load bench: CPU time
 * (utime + stime from /proc/<pid>/stat, in clock ticks) and resident memory (VmRSS from
 * /proc/<pid>/status). Linux only; callers check {@link procAvailable} first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** True when /proc/<pid>/stat can be read (Linux). */
export function procAvailable(): boolean {
  return existsSync(`/proc/${process.pid}/stat`);
}

let ticksPerSecond: number | null = null;

/** `getconf CLK_TCK` (the unit of utime/stime), normally 100; 100 if getconf fails. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond !== null) return ticksPerSecond;
  let value = 100;
  try {
    const out = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isInteger(out) && out > 0) value = out;
  } catch {
    // keep the Linux default
  }
  ticksPerSecond = value;
  return value;
}

/**
 * User + system CPU seconds of `pid` so far. The comm field (2nd) may contain spaces and
 * parentheses, so fields are counted from the last ')'. utime and stime are fields 14 and 15.
 */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3]
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  return (utime + stime) / clockTicksPerSecond();
}

/** Resident set size of `pid` in bytes (VmRSS). */
export function processRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/**
 * Seconds the main thread of `pid` has spent runnable but waiting for a CPU (field 2 of
 * /proc/<pid>/schedstat). Over a window this shows how much other work (other processes on
 * the core, the process's own GC and compiler threads) kept the event loop from running.
 */
export function processRunQueueWaitSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ');
  return Number(fields[1]) / 1e9;
}
