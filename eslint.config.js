// ESLint flat config (STYLE §2.10): typescript-eslint with type information, the house
// rules, and the pure core's import boundaries (STYLE §2.4; test/unit/architecture.test.ts
// checks the same rules from the other side).
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import tseslint from 'typescript-eslint';

const PURE_CORE_FORBIDDEN = {
  paths: ['ws', 'express', 'twilio', 'pino', 'better-sqlite3', 'pg', 'kysely'].map((name) => ({
    name,
    message: 'the pure core does no IO (STYLE §2.4)',
  })),
  patterns: [
    {
      group: ['node:fs', 'node:fs/*', 'node:net', 'node:http', 'node:child_process'],
      message: 'the pure core does no IO (STYLE §2.4)',
    },
  ],
};

/** protocol/ is the base the rest builds on: it may not reach back into config/ or anything else in src/. */
const PROTOCOL_FORBIDDEN = {
  paths: PURE_CORE_FORBIDDEN.paths,
  patterns: [
    ...PURE_CORE_FORBIDDEN.patterns,
    { group: ['../*'], message: 'protocol/ imports only protocol/ modules (test/unit/architecture.test.ts)' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'data/', 'bench/results/', 'src/console/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js', 'src/store/write-worker.mjs', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { '@stylistic': stylistic },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-console': 'error',
      '@stylistic/max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }],
    },
  },
  {
    files: ['src/audio/**', 'src/protocol/**', 'src/call/**', 'src/security/stream-token.ts'],
    ignores: ['src/call/call-runner.ts'],
    rules: { 'no-restricted-imports': ['error', PURE_CORE_FORBIDDEN] },
  },
  {
    files: ['src/protocol/**'],
    rules: { 'no-restricted-imports': ['error', PROTOCOL_FORBIDDEN] },
  },
  {
    // tests, benches and command-line tools talk to the terminal and poke at loose wire data
    files: ['test/**', 'bench/**', 'scripts/**', 'src/cli/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      'no-console': 'off',
    },
  },
);
