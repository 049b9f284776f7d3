/**
 * `npm run replay -- <file>` (the CLI as a child process): exit code 0 only when nothing
 * differs beyond tolerance; the report names each difference with its time and direction.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { PROJECT_ROOT } from '../support/child.js';
import { CALL_FIXTURES_DIR } from '../support/recorded-calls.js';

const TSX = path.join(PROJECT_ROOT, 'node_modules/.bin/tsx');

function replay(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(TSX, ['src/cli/replay.ts', ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm run replay', () => {
  // three tsx child processes, ~1 s each on an idle machine (18 s seen on a loaded one)
  it(
    'exits 0 for a fixture that replays green, 1 with the truncate named when the cushion is wrong, 2 for a bad file',
    { timeout: 45_000 },
    () => {
      const fixture = path.join(CALL_FIXTURES_DIR, 'barge-in-after-send.jsonl');
      const green = replay(fixture);
      expect(green.status, green.stderr).toBe(0);
      expect(green.stdout).toMatch(/^no differences beyond tolerance/m);

      const red = replay(fixture, '--tuning', 'truncationCushionMs=0');
      expect(red.status, red.stderr).toBe(1);
      expect(red.stdout).toMatch(
        /^\+\d+ ms model_in: truncate item_\w+ audio_end_ms \d+ \(recorded \d+, tolerance 40\)$/m,
      );

      const bad = replay(path.join(PROJECT_ROOT, 'package.json'));
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/neither a bridge recording/);
    },
  );
});
