/**
 * Process entry: load configuration, start the bridge, drain on SIGTERM/SIGINT.
 * A configuration error prints one line and exits 1.
 */
import { loadConfig } from './config/env.js';
import { Bridge } from './app.js';
import { RESAMPLER_KERNELS } from './audio/resampler.js';
import { securityWarnings } from './security/posture.js';
import { ConfigError, describeError } from './util/errors.js';
import { gcMode } from './util/gc-tuning.js';
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

  logger.info(
    {
      url: bridge.localUrl,
      numbersFile: config.numbersFile,
      gc: gcMode(),
      resampler: RESAMPLER_KERNELS.kind,
      maxConcurrentCalls: config.maxConcurrentCalls,
      mediaTimeoutS: config.mediaTimeoutS,
      maxCallDurationS: config.maxCallDurationS,
    },
    'bridge listening',
  );
  logger.info(
    { backend: bridge.realtimeEndpoint.kind, dialect: bridge.realtimeEndpoint.dialect },
    `realtime backend: ${bridge.realtimeEndpoint.label}`,
  );
  for (const warning of securityWarnings(config)) logger.warn(warning);

  // SIGTERM/SIGINT: readiness turns 503 at once, new calls are politely refused, live calls
  // continue until they end or DRAIN_TIMEOUT_S passes and are then ended cleanly; exit 0.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, activeCalls: bridge.activeCalls, drainTimeoutS: config.drainTimeoutS }, 'shutting down');
    void bridge
      .drain(config.drainTimeoutS * 1000)
      .then(() => bridge.close())
      .then(
        () => {
          logger.info('shutdown complete');
          logger.flush();
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          logger.flush();
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
