import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { startBridgeProcess } from '../support/child.js';
import { tempDir } from '../support/tmp.js';

// Child processes strip the types on the fly: allow a few seconds (the 2 s budget is
// measured from spawn to the first /healthz answer inside the test).
describe('npm start (src/main.ts through scripts/ts-loader.mjs)', () => {
  it(
    'answers /healthz within 2 s and names the realtime backend when there are no credentials',
    { timeout: 15_000 },
    async () => {
      const dir = tempDir();
      const started = performance.now();
      const proc = startBridgeProcess({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: path.join(dir, 'data') });
      const listening = await proc.waitForLog('bridge listening');
      const res = await fetch(`${String(listening['url'])}/healthz`);
      const elapsedMs = performance.now() - started;
      expect(res.status).toBe(200);
      expect(elapsedMs).toBeLessThan(2_000);
      // started with npm start's flags: every GC flag is on the command line
      expect(listening['gc']).toBe('tuned');
      // the resampler says which kernels it picked: SIMD on any Node 20 with its JIT
      expect(listening['resampler']).toBe('simd');
      const backend = await proc.waitForLog(/^realtime backend: local realtime emulator/);
      expect(backend['backend']).toBe('emulator');
      await proc.waitForLog(/^local mode: TWILIO_AUTH_TOKEN is not set/);
      proc.child.kill('SIGTERM');
      expect((await proc.exited).code).toBe(0);
    },
  );

  it(
    'a broken numbers file stops start-up: non-zero exit, one line naming file and field',
    { timeout: 15_000 },
    async () => {
      const dir = tempDir();
      const file = path.join(dir, 'numbers.yaml');
      writeFileSync(file, 'defaults:\n  voice: robot\n');
      const proc = startBridgeProcess({
        PORT: '0',
        HOST: '127.0.0.1',
        NUMBERS_FILE: file,
        DATA_DIR: path.join(dir, 'data'),
      });
      const { code } = await proc.exited;
      expect(code).toBe(1);
      const lines = proc.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^Configuration error: numbers\.yaml: defaults\.voice: "robot" is not a known voice/);
    },
  );

  it('a bad variable stops start-up naming the variable, without echoing secrets', { timeout: 15_000 }, async () => {
    const proc = startBridgeProcess({ PORT: 'eighty', TWILIO_AUTH_TOKEN: 'very-secret-token' });
    expect((await proc.exited).code).toBe(1);
    expect(proc.stderr().trim()).toMatch(
      /^Configuration error: PORT="eighty" is not an integer from 0 to 65535.*Fix: set PORT/,
    );
    expect(proc.stderr()).not.toContain('very-secret-token');
  });
});
