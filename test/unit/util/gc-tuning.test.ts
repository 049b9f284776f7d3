import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { PROJECT_ROOT, startScriptNodeArgs } from '../../../scripts/start-command.js';
import { COMMAND_LINE_GC_FLAGS, GC_FLAGS, gcMode } from '../../../src/util/gc-tuning.js';

describe('GC tuning flags', () => {
  it('are flags this Node\'s V8 knows (an unknown flag makes node exit with "bad option")', () => {
    for (const flag of [...GC_FLAGS, ...COMMAND_LINE_GC_FLAGS]) {
      expect(() => execFileSync(process.execPath, [flag, '-e', '0'], { stdio: 'pipe' })).not.toThrow();
    }
    // the check above can fail: a made-up flag is refused
    expect(() =>
      execFileSync(process.execPath, ['--incremental-marking-made-up-trigger=80', '-e', '0'], { stdio: 'pipe' }),
    ).toThrow(/bad option/);
  });

  it("the command-line ones are on npm start, and the Dockerfile runs exactly npm start's command", () => {
    const startArgs = startScriptNodeArgs();
    for (const flag of COMMAND_LINE_GC_FLAGS) expect(startArgs).toContain(flag);
    const dockerfile = readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
    expect(cmd).not.toBeNull();
    expect(JSON.parse(cmd![1]!)).toEqual(['node', ...startArgs, 'src/main.ts']);
  });

  it('gcMode says whether node was started with them', () => {
    expect(gcMode(['--single-threaded-gc', '--import', 'tsx'])).toBe('single-threaded');
    expect(gcMode(['--import', 'tsx'])).toBe('helper threads');
  });
});
