/**
 * The composition root: builds every concrete piece from the configuration and wires them
 * together. It contains no decisions of its own (STYLE §2.4: the only file that constructs
 * concrete classes).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

import express from 'express';

import { configSecrets, type Config } from './config/env.js';
import { NumbersRegistry } from './config/numbers.js';
import { healthRoutes } from './http/health-routes.js';
import { createHttpServer, type UpgradeHandler } from './http/server.js';
import { twilioRoutes } from './http/twilio-routes.js';
import { EMULATOR_PATH, resolveRealtimeEndpoint, type RealtimeEndpoint } from './links/providers.js';
import { Redactor } from './security/redact.js';
import { StreamTokens } from './security/stream-token.js';
import { SystemClock, type Clock } from './util/clock.js';
import type { Logger } from './util/logger.js';

export interface BridgeOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** watch the numbers file for edits (default true) */
  watchNumbers?: boolean;
}

export class Bridge {
  private draining = false;
  private endpoint: RealtimeEndpoint | null = null;

  private constructor(
    readonly config: Config,
    readonly logger: Logger,
    readonly clock: Clock,
    readonly numbers: NumbersRegistry,
    readonly tokens: StreamTokens,
    readonly redactor: Redactor,
    readonly server: Server,
  ) {}

  /** Builds the bridge and starts listening. @throws ConfigError (bad numbers file) */
  static async start(options: BridgeOptions): Promise<Bridge> {
    const { config, logger } = options;
    const clock = options.clock ?? new SystemClock();
    const numbers = NumbersRegistry.open(config.numbersFile, logger, clock, { watch: options.watchNumbers ?? true });
    // With an auth token the stream-token key is derived from it, so every instance behind
    // a load balancer accepts the others' tokens; without one a random per-process key.
    const tokens = new StreamTokens(clock, config.twilioAuthToken ?? undefined);
    const redactor = new Redactor(configSecrets(config));

    const app = express();
    app.disable('x-powered-by');
    app.set('trust proxy', false);
    const signature = { authToken: config.twilioAuthToken, publicUrl: config.publicUrl };
    let bridge: Bridge | null = null;
    const isDraining = () => bridge?.draining ?? false;
    app.use(healthRoutes({ isDraining, activeCalls: () => 0 }));
    app.use(twilioRoutes({ signature, lookup: (to) => numbers.lookup(to), tokens, logger, isDraining }));
    app.use((_req, res) => {
      res.status(404).json({ error: 'not found' });
    });

    const upgrades = new Map<string, UpgradeHandler>();
    const server = createHttpServer(app, upgrades, logger);
    bridge = new Bridge(config, logger, clock, numbers, tokens, redactor, server);

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    bridge.endpoint = resolveRealtimeEndpoint(config, `ws://127.0.0.1:${bridge.port}${EMULATOR_PATH}`);
    return bridge;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:<port>` — where local tools reach this process. */
  get localUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get realtimeEndpoint(): RealtimeEndpoint {
    if (this.endpoint === null) throw new Error('bridge not started');
    return this.endpoint;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Stops taking new calls; `/readyz` turns 503 at once. */
  beginDrain(): void {
    this.draining = true;
  }

  async close(): Promise<void> {
    this.numbers.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
