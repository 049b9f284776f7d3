import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { GC_FLAGS } from '../../../src/util/gc-tuning.js';

describe('GC tuning flags', () => {
  it('are flags this Node\'s V8 knows (an unknown flag makes node exit with "bad option")', () => {
    for (const flag of GC_FLAGS) {
      expect(() => execFileSync(process.execPath, [flag, '-e', '0'], { stdio: 'pipe' })).not.toThrow();
    }
    // the check above can fail: a made-up flag is refused
    expect(() => execFileSync(process.execPath, ['--incremental-marking-made-up-trigger=80', '-e', '0'], { stdio: 'pipe' })).toThrow(/bad option/);
  });

});
