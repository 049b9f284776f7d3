/**
 * Per-number profiles shared by several instances (SPEC §14): one YAML document in PostgreSQL,
 * seeded from `NUMBERS_FILE` when the table is empty. An edit (`PUT /api/numbers/:number`) is
 * applied to the stored document in a transaction that locks it, so edits made at once on two
 * instances both land, then announced on the cluster channel; every instance re-reads the
 * document and uses it for its next call (within milliseconds; SPEC allows 1 s).
 */
import { withNumberInText } from '../config/numbers.js';
import type { Clock } from '../util/clock.js';
import type { PgDatabase } from './pg-database.js';
import type { ClusterBus } from './pg-notify.js';

/** The topic every instance listens on for profile edits. */
export const PROFILES_TOPIC = 'numbers.changed';

export class PgProfiles {
  constructor(
    private readonly db: PgDatabase,
    private readonly bus: ClusterBus,
    private readonly clock: Clock,
    /** names the document in error messages (the numbers file it was seeded from) */
    private readonly label: string,
  ) {}

  /** Stores `text` unless a document is already there; returns the document in force. */
  async seed(text: string): Promise<string> {
    await this.db.query(
      'INSERT INTO profiles (id, document, updated_ms) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING',
      [text, Math.round(this.clock.now())],
    );
    return this.read();
  }

  async read(): Promise<string> {
    const { rows } = await this.db.query<{ document: string }>('SELECT document FROM profiles WHERE id = 1');
    return rows[0]?.document ?? '';
  }

  /** Applies one number's edit to the stored document and tells every instance. */
  async put(number: string, fields: Record<string, unknown>): Promise<void> {
    const client = await this.db.pool.connect();
    let broken = false;
    // a connection lost while checked out must not become an unhandled 'error' event
    const lost = () => (broken = true);
    client.on('error', lost);
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ document: string }>(
        'SELECT document FROM profiles WHERE id = 1 FOR UPDATE',
      );
      const { text } = withNumberInText(rows[0]?.document ?? '', number, fields, this.label);
      await client.query('UPDATE profiles SET document = $1, updated_ms = $2 WHERE id = 1', [
        text,
        Math.round(this.clock.now()),
      ]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', lost);
      client.release(broken);
    }
    await this.bus.publish(PROFILES_TOPIC, {});
  }
}
