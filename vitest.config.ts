import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/live/**', 'node_modules/**'],
    setupFiles: ['test/support/setup.ts'],
    // STYLE §2.9: 5 s by default; a test that needs more says why with its own timeout.
    testTimeout: 5_000,
    hookTimeout: 10_000,
    pool: 'forks',
    // Two cores: integration tests run real servers and real-time phones.
    maxWorkers: 2,
  },
});
