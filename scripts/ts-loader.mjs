/**
 * `npm start`'s TypeScript loader: `node --import ./scripts/ts-loader.mjs src/main.ts`.
 *
 * Registers ts-hooks.mjs, which strips the types of the project's own `.ts` files with
 * esbuild and leaves everything else (every package in node_modules) to Node itself. tsx did
 * the same job but sent each of the ~450 modules a start-up loads through its hooks and kept
 * its transforms in a cache that a fresh machine does not have (bench/README.md, "Start-up").
 * Stack traces point into the `.ts` sources (inline source maps).
 */
import { register } from 'node:module';
import process from 'node:process';

process.setSourceMapsEnabled(true);
register('./ts-hooks.mjs', import.meta.url);
