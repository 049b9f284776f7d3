/**
 * Module hooks (Node's `module.register`, run off the main thread) for ts-loader.mjs: a
 * relative `./x.js` import that has no `.js` file beside it but a `./x.ts` resolves to the
 * `.ts` (the NodeNext convention the sources follow), and a `.ts` file is loaded as an ES
 * module with its types stripped by esbuild under the project's compiler settings
 * (`verbatimModuleSyntax`: imports stay exactly as written). Bare specifiers and files under
 * node_modules go straight to Node's own resolution.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath, URL } from 'node:url';

import { transform } from 'esbuild';

const TSCONFIG = {
  compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true, target: 'ES2022' },
};

/** @param {string} specifier */
function isPath(specifier) {
  return specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('file:');
}

/**
 * @param {string} specifier
 * @param {{ parentURL?: string }} context
 * @param {(specifier: string, context: unknown) => Promise<unknown>} nextResolve
 */
export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL;
  if (parent !== undefined && isPath(specifier) && !parent.includes('/node_modules/')) {
    const url = new URL(specifier, parent);
    if (url.pathname.endsWith('.ts')) return { url: url.href, format: 'module', shortCircuit: true };
    if (url.pathname.endsWith('.js') && !existsSync(url)) {
      const ts = new URL(url.href.replace(/\.js$/, '.ts'));
      if (existsSync(ts)) return { url: ts.href, format: 'module', shortCircuit: true };
    }
  }
  return nextResolve(specifier, context);
}

/**
 * @param {string} url
 * @param {unknown} context
 * @param {(url: string, context: unknown) => Promise<unknown>} nextLoad
 */
export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const { code } = await transform(await readFile(file, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcefile: file,
    tsconfigRaw: TSCONFIG,
  });
  return { format: 'module', source: code, shortCircuit: true };
}
