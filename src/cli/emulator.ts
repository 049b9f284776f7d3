/**
 * `npm run emulator`: the local Realtime API emulator on its own port, for trying the bridge
 * (point `REALTIME_URL` at it) or any Realtime client without an API key.
 *
 *   npm run emulator -- [--port 8787] [--host 127.0.0.1] [--speed 4] [--seed 1]
 *                       [--require-key KEY] [--beta-disabled]
 */
import { parseArgs } from 'node:util';

import { RealtimeEmulator } from '../emulator/realtime-emulator.js';
import type { LogLevel } from '../config/env.js';
import { createLogger } from '../util/logger.js';

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const USAGE =
  'usage: npm run emulator -- [--port 8787] [--host 127.0.0.1] [--speed 4] [--seed 1] [--require-key KEY] ' +
  `[--beta-disabled]
  --port           TCP port (0 = any free port)                     default 8787
  --host           address to listen on (keep it on loopback)       default 127.0.0.1
  --speed          audio streamed at this multiple of real time     default 4
  --seed           seed of delta sizes and ids                      default 1
  --require-key    refuse handshakes without this key (HTTP 401)
  --beta-disabled  answer beta handshakes like OpenAI after May 2026 (error, close 4000)`;

function numberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`--${name} must be a non-negative number, got ${JSON.stringify(value)}`);
  return n;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        speed: { type: 'string' },
        seed: { type: 'string' },
        'require-key': { type: 'string' },
        'beta-disabled': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const { values } = parsed;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const wanted = process.env['LOG_LEVEL'];
  const level = LEVELS.find((l) => l === wanted) ?? 'info';
  const logger = createLogger({ level });
  try {
    const server = await RealtimeEmulator.listen({
      port: numberOption(values.port, 'port', 8787),
      host: values.host ?? '127.0.0.1',
      pacing: { speed: numberOption(values.speed, 'speed', 4) },
      seed: numberOption(values.seed, 'seed', 1),
      logger,
      ...(values['require-key'] !== undefined ? { requireApiKey: values['require-key'] } : {}),
      betaShapeDisabled: values['beta-disabled'] === true,
    });
    logger.info(
      { url: server.url },
      'realtime emulator listening; set REALTIME_URL to this address to use it from the bridge',
    );
    const stop = (): void => {
      logger.info('realtime emulator stopping');
      void server.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } catch (err) {
    logger.fatal({ err }, 'realtime emulator failed to start');
    process.exitCode = 1;
  }
}

void main();
