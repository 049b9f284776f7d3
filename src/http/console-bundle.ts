/**
 * The console's script and style, bundled from `console/src/` by esbuild in memory on the
 * first request (not at start-up: the bridge answers `/healthz` at once). There is no build
 * step for the user: `npm install && npm start` serves it. The result is kept for the
 * process's life, with a content hash for cache validation.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { PROJECT_ROOT } from '../util/project-files.js';

/** The console's sources (TypeScript and CSS), shipped in the package. */
export const CONSOLE_SRC_DIR = path.join(PROJECT_ROOT, 'console/src');

export interface ConsoleAsset {
  body: Buffer;
  type: string;
  etag: string;
}

export interface ConsoleBundle {
  js: ConsoleAsset;
  css: ConsoleAsset;
}

function asset(body: Buffer, type: string): ConsoleAsset {
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` };
}

let building: Promise<ConsoleBundle> | null = null;

async function build(): Promise<ConsoleBundle> {
  // loaded on first use: esbuild's start-up cost is paid by the first console visit only
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [path.join(CONSOLE_SRC_DIR, 'main.ts')],
    bundle: true,
    write: false,
    minify: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = result.outputFiles[0];
  if (js === undefined) throw new Error('esbuild produced no console bundle');
  const css = await readFile(path.join(CONSOLE_SRC_DIR, 'console.css'));
  return { js: asset(Buffer.from(js.contents), 'text/javascript'), css: asset(css, 'text/css') };
}

/** The bundle, built once; a failed build is retried on the next request. */
export function consoleBundle(): Promise<ConsoleBundle> {
  building ??= build().catch((err: unknown) => {
    building = null;
    throw err;
  });
  return building;
}
