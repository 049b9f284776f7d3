/**
 * The bridge as the benches run it: in-process, on a loopback port, with the emulator as its
 * model, a silent logger, no recording and the numbers file written into a fresh temporary
 * folder. `close()` stops the bridge and removes the folder.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Bridge } from '../src/app.js';
import { loadConfig } from '../src/config/env.js';
import { RealtimeEmulator } from '../src/emulator/realtime-emulator.js';
import { createLogger } from '../src/util/logger.js';

export interface InProcessBridge {
  readonly bridge: Bridge;
  readonly emulator: RealtimeEmulator;
  readonly close: () => Promise<void>;
}

/** `env`: more settings (e.g. the Twilio simulator's credentials for the outbound bench). */
export async function startInProcessBridge(
  numbersYaml: string,
  name: string,
  env: Record<string, string> = {},
): Promise<InProcessBridge> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${name}-bench-`));
  writeFileSync(path.join(dir, 'numbers.yaml'), numbersYaml);
  const config = loadConfig(
    {
      PORT: '0',
      HOST: '127.0.0.1',
      NUMBERS_FILE: path.join(dir, 'numbers.yaml'),
      DATA_DIR: path.join(dir, 'data'),
      RECORD_CALLS: '0',
      ...env,
    },
    dir,
  );
  const emulator = new RealtimeEmulator({ seed: 3 });
  const bridge = await Bridge.start({
    config,
    logger: createLogger({ level: 'silent' }),
    watchNumbers: false,
    emulator,
  });
  return {
    bridge,
    emulator,
    close: async () => {
      await bridge.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
