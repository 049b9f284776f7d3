/**
 * Figures a robustness run can leave behind without printing anything: with
 * `FUZZ_STATS=<prefix>` each test writes `<prefix>.<name>.json` (messages, wall times,
 * observed fault timings, the healthy call's meter). Unset, nothing is written.
 */
import { writeFileSync } from 'node:fs';

export function writeStats(name: string, stats: Record<string, unknown>): void {
  const prefix = process.env['FUZZ_STATS'];
  if (prefix === undefined || prefix === '') return;
  writeFileSync(`${prefix}.${name}.json`, `${JSON.stringify(stats, null, 2)}\n`);
}

/** `promise`'s value, or null when it has not settled within `ms` (a deadline, not a pause). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
