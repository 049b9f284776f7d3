/**
 * Process entry: load configuration, start the bridge, drain on SIGTERM/SIGINT.
 * A configuration error prints one line and exits 1.
 */
import { loadConfig } from './config/env.js';
import { Bridge } from './app.js';
import { ConfigError, describeError } from './util/errors.js';
import { createLogger } from './util/logger.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  let bridge: Bridge;
  try {
    bridge = await Bridge.start({ config, logger });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`Start-up failed: ${describeError(err)}\n`);
    process.exit(1);
  }

  logger.info({ url: bridge.localUrl, numbersFile: config.numbersFile }, 'bridge listening');
  logger.info({ backend: bridge.realtimeEndpoint.kind, dialect: bridge.realtimeEndpoint.dialect }, `realtime backend: ${bridge.realtimeEndpoint.label}`);
  if (config.localMode) {
    logger.warn(
      'local mode: TWILIO_AUTH_TOKEN is not set, so webhooks and media streams are accepted unsigned from loopback addresses only. A tunnel forwarding to this port makes them reachable from anywhere: set TWILIO_AUTH_TOKEN before connecting a real number',
    );
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    bridge.beginDrain();
    void bridge.close().then(() => {
      logger.flush();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
