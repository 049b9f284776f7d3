import { defineConfig } from 'vitest/config';

const shared = {
  setupFiles: ['test/support/setup.ts'],
  // STYLE §2.9: 5 s by default; a test that needs more says why with its own timeout.
  testTimeout: 5_000,
  hookTimeout: 10_000,
  pool: 'forks' as const,
};

/** Start-up speed is an acceptance figure (healthz within 2 s): measured before the heavy files start. */
const STARTUP = 'test/integration/startup.test.ts';

export default defineConfig({
  test: {
    // Two cores: integration tests run real servers and real-time phones.
    maxWorkers: 2,
    projects: [
      { test: { ...shared, name: 'startup', include: [STARTUP], sequence: { groupOrder: 0 } } },
      {
        test: {
          ...shared,
          name: 'suite',
          // is PostgreSQL there (SPEC §14 tests)? In CI it must be; elsewhere its tests are skipped
          globalSetup: ['test/support/postgres-setup.ts'],
          include: ['test/**/*.test.ts'],
          exclude: [STARTUP, 'test/live/**', 'node_modules/**'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
