/**
 * The repository stands alone (issue #14 item 14): a user clones it with nothing beside it, so
 * no source, test, script, benchmark or README line may cite the team's shared folder, and
 * every file a README command names must be in the repository.
 */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** The team's shared folder, as a path outside the repository would spell it. */
const SHARED = /(\.\.\/|\/work\/)shared\b/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (name === 'node_modules' || name === 'results') return [];
    return statSync(full).isDirectory() ? files(full) : [full];
  });
}

const TEXT = /\.(ts|js|mjs|json|md|sh|yaml|yml|txt)$|Dockerfile$/;

describe('the repository stands alone', () => {
  it('no file cites the shared folder beside the repository', () => {
    const candidates = [
      ...['src', 'test', 'bench', 'scripts', 'assets'].flatMap((d) => files(path.join(ROOT, d))),
      ...['README.md', 'Dockerfile', 'docker-compose.yml', 'package.json'].map((f) => path.join(ROOT, f)),
    ].filter((f) => TEXT.test(f) && !f.includes(`${path.sep}fixtures${path.sep}calls${path.sep}`));
    const offenders = candidates.filter((f) => SHARED.test(readFileSync(f, 'utf8'))).map((f) => path.relative(ROOT, f));
    expect(offenders).toEqual([]);
  });

  it('every file a README shell command names is in the repository', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const commands = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).join('\n');
    const named = [...commands.matchAll(/(?:--wav|--numbers|cp|replay --)\s+([\w./-]+\.(?:wav|yaml|jsonl))/g)].map(
      (m) => m[1]!,
    );
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((p) => !existsSync(path.join(ROOT, p)))).toEqual([]);
  });
});
