/**
 * The pino logger factory. Static messages plus structured fields (STYLE §2.6); secrets are
 * removed by the shared redaction list before a line is written.
 */
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

import { PINO_REDACT_PATHS, REDACTED } from '../security/redact.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Where lines go; standard output by default. Tests pass a memory stream. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'bridge' },
      redact: { paths: [...PINO_REDACT_PATHS], censor: REDACTED },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that drops everything (unit tests, pure modules' callers). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
