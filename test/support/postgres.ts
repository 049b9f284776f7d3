/**
 * A PostgreSQL schema of its own for a test or a test file (SPEC §14 tests): created on first
 * use and dropped with everything in it when the test (or the file) ends, so runs never see each other's rows.
 */
import { randomBytes } from 'node:crypto';

import pg from 'pg';
import { inject } from 'vitest';

import { whenDone } from './cleanup.js';

/** The database the PostgreSQL tests use, or null when they are skipped (see postgres-setup.ts). */
export const PG_URL: string | null = inject('pgUrl');

/** A fresh schema name; the schema is dropped at the end of the test (or of the file, outside a test). */
export function testSchema(): string {
  if (PG_URL === null) throw new Error('no PostgreSQL for this run');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const url = PG_URL;
  whenDone(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await client.end();
    }
  });
  return schema;
}

/** `url` with `search_path` set to `schema`, for a child bridge's DATABASE_URL. */
export function urlWithSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}
