/** Temporary directories that are removed after the test file. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { whenDone } from './cleanup.js';

export function tempDir(prefix = 'bridge-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  whenDone(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
