/**
 * Test hygiene (STYLE §2.9, after openai-agents-js console-guard): a test fails on
 * unexpected console output or an unhandled rejection. Product code logs through pino,
 * which tests silence, so console output means a stray debug print or a bug.
 */
import { afterEach, beforeEach } from 'vitest';

const captured: string[] = [];
const original = { log: console.log, warn: console.warn, error: console.error, info: console.info };

beforeEach(() => {
  captured.length = 0;
  for (const level of ['log', 'warn', 'error', 'info'] as const) {
    console[level] = (...args: unknown[]) => {
      captured.push(`console.${level}: ${args.map(String).join(' ')}`);
    };
  }
});

afterEach(() => {
  Object.assign(console, original);
  if (captured.length > 0) {
    const lines = captured.splice(0);
    throw new Error(`unexpected console output:\n${lines.join('\n')}`);
  }
});

process.on('unhandledRejection', (reason) => {
  throw reason instanceof Error ? reason : new Error(String(reason));
});
