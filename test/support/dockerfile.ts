/**
 * A small reader of the repository's Dockerfile, enough for the tests that check it without
 * a Docker engine: its stages, each stage's COPY instructions and the final CMD.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { PROJECT_ROOT } from './child.js';

export interface DockerCopy {
  /** `--from=<stage>`, or null for the build context */
  from: string | null;
  sources: string[];
  dest: string;
}

export interface DockerStage {
  /** `FROM <image>` */
  image: string;
  /** `AS <name>`, or null */
  name: string | null;
  copies: DockerCopy[];
  /** the commands of its RUN instructions */
  runs: string[];
  /** exec-form CMD, or null */
  cmd: string[] | null;
}

/** Instructions with continuation lines joined and comments dropped, e.g. `['COPY', 'a ./b']`. */
function instructions(text: string): [string, string][] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  return joined
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const space = line.indexOf(' ');
      return [line.slice(0, space).toUpperCase(), line.slice(space + 1).trim()];
    });
}

export function parseDockerfile(text: string): DockerStage[] {
  const stages: DockerStage[] = [];
  for (const [op, rest] of instructions(text)) {
    if (op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (m === null) throw new Error(`FROM ${rest}: not "FROM <image> [AS <name>]"`);
      stages.push({ image: m[1]!, name: m[2] ?? null, copies: [], runs: [], cmd: null });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error(`${op} before the first FROM`);
    if (op === 'COPY') {
      const words = rest.split(/\s+/);
      const from = words[0]?.startsWith('--from=') ? words.shift()!.slice('--from='.length) : null;
      if (words.some((w) => w.startsWith('--'))) throw new Error(`COPY ${rest}: unexpected flag`);
      stage.copies.push({ from, sources: words.slice(0, -1), dest: words.at(-1)! });
    } else if (op === 'RUN') stage.runs.push(rest);
    else if (op === 'CMD') stage.cmd = JSON.parse(rest) as string[];
  }
  return stages;
}

export function readDockerfile(): DockerStage[] {
  return parseDockerfile(readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8'));
}
