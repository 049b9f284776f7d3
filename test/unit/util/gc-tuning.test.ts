import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { PROJECT_ROOT, startScriptNodeArgs } from '../../../scripts/start-command.js';
import { gcMode, NODE_GC_FLAGS } from '../../../src/util/gc-tuning.js';

/** The Dockerfile's CMD (exec form, `\` continuations joined) as its argument list. */
function dockerCmd(): string[] {
  const dockerfile = readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
  expect(cmd).not.toBeNull();
  return JSON.parse(cmd![1]!) as string[];
}

describe('GC flags', () => {
  it('are flags this Node\'s V8 knows (an unknown flag makes node exit with "bad option")', () => {
    expect(() => execFileSync(process.execPath, [...NODE_GC_FLAGS, '-e', '0'], { stdio: 'pipe' })).not.toThrow();
    // the check above can fail: a made-up flag is refused
    expect(() =>
      execFileSync(process.execPath, ['--incremental-marking-made-up-trigger=80', '-e', '0'], { stdio: 'pipe' }),
    ).toThrow(/bad option/);
  });

  it("are exactly the GC flags of npm start, and the Dockerfile runs exactly npm start's command", () => {
    const startArgs = startScriptNodeArgs();
    const gcFlagsOnStart = startArgs.filter((arg) => /^--(single-threaded-gc|incremental-marking|.*gc)/.test(arg));
    expect(gcFlagsOnStart).toEqual([...NODE_GC_FLAGS]);
    expect(dockerCmd()).toEqual(['node', ...startArgs, 'src/main.ts']);
  });

  it('are not set at run time: nothing in src/ calls v8.setFlagsFromString', () => {
    const src = path.join(PROJECT_ROOT, 'src');
    const callers = readdirSync(src, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .filter((file) => readFileSync(path.join(src, file), 'utf8').includes('setFlagsFromString('));
    expect(callers).toEqual([]);
  });

  it('gcMode says whether node was started with all of them', () => {
    expect(gcMode([...NODE_GC_FLAGS, '--import', 'tsx'])).toBe('tuned');
    expect(gcMode(['--single-threaded-gc', '--import', 'tsx'])).toBe('V8 defaults');
  });
});
