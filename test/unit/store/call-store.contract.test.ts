/**
 * Both engines behind one store interface pass the same contract (issue #21, SPEC §14):
 * SQLite (a fresh file) and PostgreSQL (a schema of this file's own, dropped at the end).
 */
import path from 'node:path';

import { describe } from 'vitest';

import { CallsRepo } from '../../../src/store/calls-repo.js';
import { PgCallStore } from '../../../src/store/pg-call-store.js';
import { PgDatabase } from '../../../src/store/pg-database.js';
import { SqliteCallStore } from '../../../src/store/sqlite-call-store.js';
import { SystemClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';
import { callStoreContract } from '../../contract/call-store.js';
import { PG_URL, testSchema } from '../../support/postgres.js';
import { tempDir } from '../../support/tmp.js';

const monitor = { onError: () => undefined, onDropped: () => undefined, onQueued: () => undefined };

callStoreContract('SQLite', () => {
  const store = new SqliteCallStore(new CallsRepo(path.join(tempDir(), 'calls.sqlite')), {
    logger: silentLogger(),
    clock: new SystemClock(),
    monitor,
  });
  return Promise.resolve({ store, close: () => store.close() });
});

describe.skipIf(PG_URL === null)('PostgreSQL', () => {
  callStoreContract('PostgreSQL', async () => {
    // one schema per store, dropped when the test ends: every test starts empty
    const db = await PgDatabase.open(PG_URL!, { schema: testSchema() });
    const store = new PgCallStore({
      db,
      instanceId: 'contract',
      logger: silentLogger(),
      clock: new SystemClock(),
      monitor,
    });
    return {
      store,
      close: async () => {
        await store.close();
        await db.close();
      },
    };
  });
});
