import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { compiledStartNodeArgs, PROJECT_ROOT, startScriptNodeArgs } from '../../../scripts/start-command.js';
import { gcMode, NODE_GC_FLAGS } from '../../../src/util/gc-tuning.js';
import { readDockerfile } from '../../support/dockerfile.js';

describe('GC flags', () => {
  it('are flags this Node\'s V8 knows (an unknown flag makes node exit with "bad option")', () => {
    expect(() => execFileSync(process.execPath, [...NODE_GC_FLAGS, '-e', '0'], { stdio: 'pipe' })).not.toThrow();
    // the check above can fail: a made-up flag is refused
    expect(() =>
      execFileSync(process.execPath, ['--incremental-marking-made-up-trigger=80', '-e', '0'], { stdio: 'pipe' }),
    ).toThrow(/bad option/);
  });

  it('are exactly the GC flags of npm start and start:prod, and the Dockerfile runs exactly start:prod', () => {
    const gcFlags = (args: string[]) =>
      args.filter((arg) => /^--(single-threaded-gc|incremental-marking|.*gc)/.test(arg));
    expect(gcFlags(startScriptNodeArgs())).toEqual([...NODE_GC_FLAGS]);
    // the compiled build runs with exactly these flags, without the tsx loader it no longer needs
    expect(compiledStartNodeArgs()).toEqual([...NODE_GC_FLAGS]);
    expect(readDockerfile().at(-1)?.cmd).toEqual(['node', ...compiledStartNodeArgs(), 'dist/main.js']);
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
