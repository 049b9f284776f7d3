/**
 * The node flags of `npm start` (package.json's "start": `node <flags> src/main.ts`), read
 * from package.json so that the load bench, the child-process tests and the Dockerfile check
 * all run the bridge with exactly the flags production does.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The repository's root folder (the one holding package.json). */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');

export function startScriptNodeArgs(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    scripts?: { start?: string };
  };
  const words = (pkg.scripts?.start ?? '').trim().split(/\s+/);
  if (words[0] !== 'node' || words.at(-1) !== 'src/main.ts')
    throw new Error(`package.json "start" is not "node <flags> src/main.ts": ${pkg.scripts?.start}`);
  return words.slice(1, -1);
}
