/**
 * Vitest global setup: is PostgreSQL there for the tests that need it (SPEC §14)?
 *
 * `TEST_DATABASE_URL` names it (`.ci/run` starts it and sets it). Unreachable in CI
 * (`CI=true`): the run fails. Unreachable on a developer's machine: one line says the
 * PostgreSQL tests are skipped, and they are.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** the PostgreSQL the tests may use, or null when they are skipped */
    pgUrl: string | null;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const url = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    project.provide('pgUrl', url);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    if (process.env['CI'] === 'true')
      throw new Error(`PostgreSQL at TEST_DATABASE_URL is unreachable in CI: ${why}`, { cause: err });
    process.stdout.write(`PostgreSQL tests skipped: no database at TEST_DATABASE_URL (${why})\n`);
    project.provide('pgUrl', null);
  } finally {
    await client.end().catch(() => undefined);
  }
}
