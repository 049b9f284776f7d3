/**
 * A pino logger that keeps its lines in memory, so tests can wait for a log event instead
 * of sleeping, and assert that secrets never reach a log line.
 */
import { Writable } from 'node:stream';

import { createLogger, type Logger } from '../../src/util/logger.js';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export class LogCapture {
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  readonly logger: Logger;
  private waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  constructor(level: 'debug' | 'info' | 'trace' = 'debug') {
    const stream = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        for (const text of chunk.toString('utf8').split('\n')) {
          if (text.trim() === '') continue;
          this.raw.push(text);
          const line = JSON.parse(text) as LogLine;
          this.lines.push(line);
          this.waiters = this.waiters.filter((w) => {
            if (!w.match(line)) return true;
            w.resolve(line);
            return false;
          });
        }
        done();
      },
    });
    this.logger = createLogger({ level, destination: stream });
  }

  /** Resolves with the first line (past or future) whose `msg` matches. */
  waitFor(msg: string | RegExp, timeoutMs = 4_000): Promise<LogLine> {
    const match = (l: LogLine) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg));
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`log line ${String(msg)} not seen within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  /** All lines as one string, for "no secret anywhere" assertions. */
  text(): string {
    return this.raw.join('\n');
  }
}
