/**
 * The Dockerfile, checked without a Docker engine (issue #14 item 12, issue #15): the image
 * runs the compiled build on a Node line that still gets security fixes, and every file it
 * copies exists. test/integration/compiled-build.test.ts runs the runtime stage's layout.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { compiledStartNodeArgs } from '../../scripts/start-command.js';
import * as projectFiles from '../../src/util/project-files.js';
import { PROJECT_ROOT } from '../support/child.js';
import { readDockerfile } from '../support/dockerfile.js';

/**
 * End of life of the LTS lines (https://nodejs.org/en/about/previous-releases and the release
 * schedule in https://github.com/nodejs/Release): after it a line gets no security fixes.
 */
const LTS_END_OF_LIFE: Record<number, string> = { 20: '2026-04-30', 22: '2027-04-30', 24: '2028-04-30' };

const stages = readDockerfile();
const runtime = stages.at(-1)!;

function nodeMajor(image: string): number {
  const m = /^node:(\d+)-bookworm-slim$/.exec(image);
  if (m === null) throw new Error(`${image}: not a node:<major>-bookworm-slim image`);
  return Number(m[1]);
}

describe('Dockerfile', () => {
  it('every stage is one Node LTS line that is still supported, and engines.node lists it', () => {
    const majors = new Set(stages.map((s) => nodeMajor(s.image)));
    expect(majors.size).toBe(1);
    const [major] = majors;
    const endOfLife = LTS_END_OF_LIFE[major!];
    expect(endOfLife, `node ${major} is not an LTS line`).toBeDefined();
    expect(new Date(`${endOfLife!}T23:59:59Z`).getTime()).toBeGreaterThan(Date.now());
    const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    expect(pkg.engines.node.split('||').map((range) => range.trim())).toContain(`^${major}`);
  });

  it('runs the compiled build with the flags of npm run start:prod', () => {
    expect(runtime.cmd).toEqual(['node', ...compiledStartNodeArgs(), 'dist/main.js']);
    expect(runtime.cmd).not.toContain('tsx');
  });

  it("copies dist/ from a stage that runs npm run build into tsconfig.build.json's outDir", () => {
    const buildConfig = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'tsconfig.build.json'), 'utf8')) as {
      compilerOptions: { outDir: string };
    };
    const copy = runtime.copies.find((c) => c.dest === `./${buildConfig.compilerOptions.outDir}`);
    expect(copy?.from).not.toBeNull();
    const from = stages.find((s) => s.name === copy!.from);
    expect(from?.runs).toContain('npm run build');
    expect(copy!.sources).toEqual([`/app/${buildConfig.compilerOptions.outDir}`]);
  });

  it('every --from names an earlier stage, and every other COPY source is in the build context', () => {
    const ignored = readFileSync(path.join(PROJECT_ROOT, '.dockerignore'), 'utf8').split('\n').filter(Boolean);
    stages.forEach((stage, i) => {
      for (const copy of stage.copies) {
        if (copy.from !== null) {
          expect(stages.slice(0, i).map((s) => s.name)).toContain(copy.from);
          continue;
        }
        for (const source of copy.sources) {
          expect(existsSync(path.join(PROJECT_ROOT, source)), `COPY ${source}: no such file`).toBe(true);
          expect(ignored, `COPY ${source}: excluded by .dockerignore`).not.toContain(source.split('/')[0]);
        }
      }
    });
  });

  it('the runtime stage holds every file the bridge reads from its installation (src/util/project-files.ts)', () => {
    const copied = runtime.copies.flatMap((c) =>
      c.sources.length === 1 && c.dest !== './' ? [path.posix.normalize(c.dest)] : c.sources,
    );
    const needed = Object.entries(projectFiles)
      .filter(([name]) => name !== 'PROJECT_ROOT')
      .map(([, file]) => path.relative(PROJECT_ROOT, file));
    expect(needed.length).toBeGreaterThan(0);
    for (const file of needed)
      expect(
        copied.some((c) => file === c || file.startsWith(`${c}/`)),
        `${file} is not copied`,
      ).toBe(true);
  });
});
