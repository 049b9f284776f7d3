import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { compiledStartNodeArgs, startScriptNodeArgs } from '../../../scripts/start-command.js';
import { COMMAND_LINE_GC_FLAGS, GC_FLAGS, gcMode } from '../../../src/util/gc-tuning.js';
import { readDockerfile } from '../../support/dockerfile.js';

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

  it('the command-line ones are on npm start and start:prod, and the Dockerfile runs exactly start:prod', () => {
    const startArgs = startScriptNodeArgs();
    for (const flag of COMMAND_LINE_GC_FLAGS) expect(startArgs).toContain(flag);
    // the compiled build runs with the same flags, less the tsx loader it no longer needs
    const compiledArgs = compiledStartNodeArgs();
    expect(compiledArgs).toEqual(startArgs.filter((arg, i) => arg !== 'tsx' && startArgs[i + 1] !== 'tsx'));
    expect(readDockerfile().at(-1)?.cmd).toEqual(['node', ...compiledArgs, 'dist/main.js']);
  });

  it('gcMode says whether node was started with them', () => {
    expect(gcMode(['--single-threaded-gc', '--import', 'tsx'])).toBe('single-threaded');
    expect(gcMode(['--import', 'tsx'])).toBe('helper threads');
  });
});
