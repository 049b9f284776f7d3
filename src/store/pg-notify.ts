/**
 * Messages between instances over PostgreSQL `LISTEN/NOTIFY` (SPEC §14): call control for a
 * call another instance holds (hang up, transfer, say), the live feed every instance shows,
 * and profile edits. No broker beyond the database the instances already share.
 *
 * One dedicated connection listens on the schema's channel (`bridge_cluster_<schema>`); a lost
 * connection is reopened with back-off (1 s doubling to 30 s) and `onReconnect` runs, so a
 * subscriber can re-read what it may have missed. A payload that is not one of ours is logged
 * and dropped. NOTIFY payloads are at most 8000 bytes: {@link PgNotify.publish} refuses bigger
 * ones rather than lose them.
 */
import pg from 'pg';

import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { PgDatabase } from './pg-database.js';

/** NOTIFY reaches every session of the database: one channel per schema keeps deployments apart. */
function channelOf(db: PgDatabase): string {
  return `bridge_cluster_${db.namespace}`;
}
const MAX_PAYLOAD_BYTES = 7_900;

/** One message between instances. `to` null: every instance (the sender included). */
export interface ClusterMessage {
  topic: string;
  from: string;
  to: string | null;
  body: Record<string, unknown>;
}

/** What the rest of the bridge sees of the channel (a single instance can implement it in-process). */
export interface ClusterBus {
  /** Sends `body` on `topic` to the instance `to`, or to all when `to` is null. */
  publish(topic: string, body: Record<string, unknown>, to?: string | null): Promise<void>;
  /** `handler` gets every message on `topic` addressed to this instance or to all. */
  subscribe(topic: string, handler: (body: Record<string, unknown>, from: string) => void): () => void;
}

function parseMessage(payload: string | undefined): ClusterMessage | null {
  if (payload === undefined) return null;
  try {
    const m = JSON.parse(payload) as Partial<ClusterMessage> | null;
    if (
      m === null ||
      typeof m.topic !== 'string' ||
      typeof m.from !== 'string' ||
      (m.to !== null && typeof m.to !== 'string') ||
      typeof m.body !== 'object' ||
      m.body === null
    )
      return null;
    return m as ClusterMessage;
  } catch {
    return null;
  }
}

export interface PgNotifyDeps {
  db: PgDatabase;
  instanceId: string;
  clock: Clock;
  logger: Logger;
  /** after the listening connection was lost and is back (messages may have been missed) */
  onReconnect?: () => void;
}

export class PgNotify implements ClusterBus {
  private client: pg.Client | null = null;
  private readonly handlers = new Map<string, Set<(body: Record<string, unknown>, from: string) => void>>();
  private retryMs = 1_000;
  private retryTimer: TimerHandle | null = null;
  private closed = false;

  private constructor(private readonly deps: PgNotifyDeps) {}

  /** Listens before it resolves: a message published after this cannot be missed. */
  static async open(deps: PgNotifyDeps): Promise<PgNotify> {
    const bus = new PgNotify(deps);
    await bus.listen();
    return bus;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client(this.deps.db.clientConfig());
    client.on('notification', (n) => this.onNotification(n.payload));
    client.on('error', (err) => {
      this.deps.logger.warn({ err: err.message }, 'cluster channel connection lost; reconnecting');
      this.lost(client);
    });
    client.on('end', () => this.lost(client));
    await client.connect();
    await client.query(`LISTEN "${channelOf(this.deps.db)}"`);
    this.client = client;
    this.retryMs = 1_000;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    void client.end().catch(() => undefined);
    this.reconnect();
  }

  private reconnect(): void {
    if (this.closed || this.retryTimer !== null) return;
    this.retryTimer = this.deps.clock.setTimer(this.retryMs, () => {
      this.retryTimer = null;
      this.listen().then(
        () => {
          this.deps.logger.info({}, 'cluster channel reconnected');
          this.deps.onReconnect?.();
        },
        () => {
          this.retryMs = Math.min(this.retryMs * 2, 30_000);
          this.reconnect();
        },
      );
    });
  }

  private onNotification(payload: string | undefined): void {
    const message = parseMessage(payload);
    if (message === null) {
      this.deps.logger.warn({ bytes: payload?.length ?? 0 }, 'cluster message dropped: not a bridge message');
      return;
    }
    if (message.to !== null && message.to !== this.deps.instanceId) return;
    for (const handler of this.handlers.get(message.topic) ?? []) {
      try {
        handler(message.body, message.from);
      } catch (err) {
        this.deps.logger.error(
          { topic: message.topic, err: err instanceof Error ? err.message : String(err) },
          'cluster message handler failed',
        );
      }
    }
  }

  async publish(topic: string, body: Record<string, unknown>, to: string | null = null): Promise<void> {
    const payload = JSON.stringify({ topic, from: this.deps.instanceId, to, body } satisfies ClusterMessage);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES)
      throw new RangeError(
        `cluster message on ${topic} is ${Buffer.byteLength(payload)} bytes; at most ${MAX_PAYLOAD_BYTES}`,
      );
    await this.deps.db.query('SELECT pg_notify($1, $2)', [channelOf(this.deps.db), payload]);
  }

  subscribe(topic: string, handler: (body: Record<string, unknown>, from: string) => void): () => void {
    let set = this.handlers.get(topic);
    if (set === undefined) this.handlers.set(topic, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== null) this.deps.clock.clearTimer(this.retryTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
