/**
 * Starts the real bridge in-process on 127.0.0.1:0 with a temporary data dir and numbers
 * file, and a log capture, for integration tests. Stopped after the test file.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll } from 'vitest';

import { Bridge, type BridgeOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { LogCapture } from './log-capture.js';
import { tempDir } from './tmp.js';

export const FIXTURE_NUMBERS = path.join(import.meta.dirname, '../fixtures/numbers/profiles.yaml');

export interface TestBridge {
  bridge: Bridge;
  logs: LogCapture;
  dir: string;
  numbersFile: string;
  url: string;
}

export async function startTestBridge(
  options: { env?: Record<string, string>; numbersYaml?: string; bridge?: Partial<BridgeOptions> } = {},
): Promise<TestBridge> {
  const dir = tempDir();
  const numbersFile = path.join(dir, 'numbers.yaml');
  if (options.numbersYaml !== undefined) writeFileSync(numbersFile, options.numbersYaml);
  const env = {
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: path.join(dir, 'data'),
    NUMBERS_FILE: options.numbersYaml !== undefined ? numbersFile : FIXTURE_NUMBERS,
    // warm start (on by default) is tested where it is the subject (warm-start.test.ts); elsewhere
    // each call opens its model session at stream start, which is what those tests are about
    PREWARM: '0',
    ...options.env,
  };
  const logs = new LogCapture();
  const config = loadConfig(env, dir);
  const bridge = await Bridge.start({
    config,
    logger: logs.logger,
    watchNumbers: options.numbersYaml !== undefined,
    ...options.bridge,
  });
  afterAll(() => bridge.close());
  return { bridge, logs, dir, numbersFile: config.numbersFile, url: bridge.localUrl };
}
