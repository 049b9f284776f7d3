/**
 * Production runs the compiled build (issue #15): tsc turns src/ into dist/, and the image's
 * runtime stage (Dockerfile) holds dist/, node_modules and the files the bridge reads from its
 * installation. This lays those out in a temporary folder exactly as the runtime stage's COPY
 * lines say, runs the image's CMD there, and asks /healthz: a file the Dockerfile forgets, or
 * code that finds its files relative to src/, fails here.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PROJECT_ROOT, startBridgeProcess } from '../support/child.js';
import { readDockerfile } from '../support/dockerfile.js';

const runtime = readDockerfile().at(-1)!;
let image: string;

/** Places what one runtime-stage COPY brings into `image` (its WORKDIR, /app). */
function layOut(copy: (typeof runtime.copies)[number]): void {
  const into = (source: string) =>
    copy.sources.length > 1 || copy.dest.endsWith('/')
      ? path.join(image, copy.dest, path.basename(source))
      : path.join(image, copy.dest);
  if (copy.from === null) {
    for (const source of copy.sources) cpSync(path.join(PROJECT_ROOT, source), into(source), { recursive: true });
    return;
  }
  expect(copy.sources).toHaveLength(1);
  const source = copy.sources[0]!;
  if (source === '/app/node_modules') {
    // the deps stage's `npm ci --omit=dev`: this checkout's node_modules has those packages (and more)
    symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), into(source), 'dir');
  } else if (source === '/app/dist') {
    // the build stage's `npm run build`; the type check is npm test's first step, so it is skipped here
    const tsc = path.join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc');
    const args = [tsc, '-p', 'tsconfig.build.json', '--noCheck', '--outDir', into(source)];
    execFileSync(process.execPath, args, { cwd: PROJECT_ROOT, stdio: 'pipe' });
  } else {
    throw new Error(`COPY --from=${copy.from} ${source}: the test does not know how to make it`);
  }
}

// tsc emits ~100 files: ~8 s of CPU, several times that on a loaded 2-core machine.
// Made in beforeAll, so removed in afterAll: a cleanup registered from inside a hook never runs.
beforeAll(() => {
  image = mkdtempSync(path.join(os.tmpdir(), 'bridge-image-'));
  for (const copy of runtime.copies) layOut(copy);
}, 120_000);

afterAll(() => rmSync(image, { recursive: true, force: true }));

describe('the compiled build in the image layout', () => {
  it('starts with the image CMD, finds its files beside dist/, answers /healthz and drains on SIGTERM', async () => {
    expect(existsSync(path.join(image, 'dist/main.js'))).toBe(true);
    expect(existsSync(path.join(image, 'src'))).toBe(false);
    const [node, ...args] = runtime.cmd!;
    expect(node).toBe('node');
    const proc = startBridgeProcess(
      { NODE_ENV: 'production', PORT: '0', HOST: '127.0.0.1', DATA_DIR: path.join(image, 'data') },
      image,
      args,
    );
    const listening = await proc.waitForLog('bridge listening', 20_000);
    expect(listening['numbersFile']).toBe(path.join(image, 'numbers.example.yaml'));
    expect(listening['gc']).toBe('tuned');
    const res = await fetch(`${String(listening['url'])}/healthz`);
    expect(res.status).toBe(200);
    await proc.waitForLog(/^realtime backend: local realtime emulator/);
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
    // A file the build leaves out that is loaded at run time (the store's writer thread) only shows as an error line.
    const errors = proc.stdout.filter((text) => /"level":(5|6)\d/.test(text));
    expect(errors).toEqual([]);
  }, 30_000);
});
