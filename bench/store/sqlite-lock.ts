/**
 * A second process holding an exclusive lock on an SQLite file, as a backup job or
 * `sqlite3 calls.sqlite 'BEGIN EXCLUSIVE'` would: a `node` child (better-sqlite3, not the
 * sqlite3 CLI, which may not be installed) that opens the file, runs `BEGIN EXCLUSIVE`, and
 * commits and exits when told to. Used by the store bench and the store-lock tests.
 */
import { spawn } from 'node:child_process';

import { PROJECT_ROOT } from '../../scripts/start-command.js';

const HOLDER = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1]);
db.exec('BEGIN EXCLUSIVE');
process.stdout.write('locked\\n');
process.stdin.once('data', () => {
  db.exec('COMMIT');
  db.close();
  process.exit(0);
});
`;

export interface HeldLock {
  pid: number;
  /** commits, closes the file and waits for the holder to exit */
  release(): Promise<void>;
}

/** Resolves once the lock is held; rejects with the holder's stderr if it could not take it. */
export function holdExclusiveLock(file: string): Promise<HeldLock> {
  const child = spawn(process.execPath, ['-e', HOLDER, file], { cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () =>
      resolve({
        pid: child.pid!,
        async release() {
          child.stdin.end('release\n');
          const code = await exited;
          if (code !== 0) throw new Error(`the lock holder exited with ${code}: ${stderr}`);
        },
      }),
    );
    void exited.then((code) => reject(new Error(`the lock holder exited with ${code} before locking: ${stderr}`)));
  });
}
