/**
 * The node commands of package.json: `npm start` (`node <flags> src/main.ts`, tsx as a
 * loader) and `npm run start:prod` (`node <flags> dist/main.js`, the compiled build the
 * image runs). Read from package.json so that the load bench, the child-process tests and
 * the Dockerfile check all run the bridge with exactly the flags production does.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { PROJECT_ROOT } from '../src/util/project-files.js';

export { PROJECT_ROOT };

function scriptWords(name: string): string[] {
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  return (pkg.scripts?.[name] ?? '').trim().split(/\s+/);
}

/** The node arguments of `npm start` before `src/main.ts` (the GC flags and the tsx loader). */
export function startScriptNodeArgs(): string[] {
  const words = scriptWords('start');
  if (words[0] !== 'node' || words.at(-1) !== 'src/main.ts')
    throw new Error(`package.json "start" is not "node <flags> src/main.ts": ${words.join(' ')}`);
  return words.slice(1, -1);
}

/** The node arguments of `npm run start:prod` before `dist/main.js`. */
export function compiledStartNodeArgs(): string[] {
  const words = scriptWords('start:prod');
  if (words[0] !== 'node' || words.at(-1) !== 'dist/main.js')
    throw new Error(`package.json "start:prod" is not "node <flags> dist/main.js": ${words.join(' ')}`);
  return words.slice(1, -1);
}
