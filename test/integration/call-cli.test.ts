/**
 * `npm run call` (the CLI, as a child process) against `npm start` (the real entry point, as
 * a child process), with every secret configured: a signed webhook, an admin token for the
 * transcript, and a model API key (the model is a standalone emulator that insists on it).
 * The caller hears the echo of their two questions; the summary prints; the bridge's
 * recording has all four directions and none of the secrets.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { decodeMulaw } from '../../src/audio/g711.js';
import { parseWav } from '../../src/audio/wav.js';
import { RealtimeEmulator } from '../../src/emulator/realtime-emulator.js';
import { DIRECTIONS } from '../../src/protocol/recording.js';
import { readRecording } from '../../src/recording/recording-file.js';
import { speechSegments } from '../../src/sim/call-metrics.js';
import { PROJECT_ROOT, startBridgeProcess } from '../support/child.js';
import { tempDir } from '../support/tmp.js';

const TSX = path.join(PROJECT_ROOT, 'node_modules/.bin/tsx');
const SECRETS = {
  TWILIO_AUTH_TOKEN: 'twilio-auth-token-5f2a9c',
  ADMIN_TOKEN: 'admin-token-8d41e7',
  OPENAI_API_KEY: 'sk-test-key-c0ffee1234',
};

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // not spawnSync: the emulator answering this call runs in this process
    const child = spawn(TSX, ['src/cli/call.ts', ...args], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run call against npm start', () => {
  // 17 s of caller audio streamed in real time, plus start-up and the assistant's last answer
  it(
    'places a signed call, prints transcript and latency summary, saves the reply; ' +
      'the recording has four directions and no secret',
    { timeout: 60_000 },
    async () => {
      const dir = tempDir();
      const model = await RealtimeEmulator.listen({ requireApiKey: SECRETS.OPENAI_API_KEY });
      afterAll(() => model.close());
      const bridge = startBridgeProcess({
        ...SECRETS,
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: path.join(dir, 'data'),
        REALTIME_URL: model.url,
        RECORD_CALLS: '1',
        LOG_LEVEL: 'info',
      });
      const listening = await bridge.waitForLog('bridge listening', 20_000);
      const url = String(listening['url']);

      const reply = path.join(dir, 'reply.wav');
      const wav = path.join(PROJECT_ROOT, 'test/fixtures/audio/call_two_questions.ulaw8k.wav');
      const cli = await runCli(['--url', url, '--wav', wav, '--out', reply, '--linger', '1500'], {
        TWILIO_AUTH_TOKEN: SECRETS.TWILIO_AUTH_TOKEN,
        ADMIN_TOKEN: SECRETS.ADMIN_TOKEN,
      });
      expect(cli.code, cli.stderr + cli.stdout).toBe(0);
      expect(cli.stdout).toMatch(/signed webhook/);
      expect(cli.stdout).toMatch(/\] assistant +\S/);
      expect(cli.stdout).toMatch(/\] caller +\S/);
      expect(cli.stdout).toMatch(
        /caller end of turn → first assistant audio \(phone-side, energy detector\): turn 1 ends [\d.]+ s: \d+ ms; turn 2 ends [\d.]+ s: \d+ ms/,
      );
      expect(cli.stdout).toMatch(/bridge's figures: outcome caller_hung_up/);
      expect(cli.stdout).toMatch(/frames sent \d+, received \d+/);

      // The reply: the call's length, with the assistant's speech (the echo of both questions) audible in it.
      const parsed = parseWav(readFileSync(reply));
      if (!parsed.ok) throw new Error(parsed.reason);
      expect(parsed.value).toMatchObject({ encoding: 'mulaw', sampleRateHz: 8000, channels: 1 });
      expect(parsed.value.data.length / 8).toBeGreaterThan(17_000);
      const speech = speechSegments(parsed.value.data);
      const speechMs = speech.reduce((ms, s) => ms + s.endMs - s.startMs, 0);
      expect(speechMs).toBeGreaterThan(4_000);
      const pcm = decodeMulaw(parsed.value.data);
      let energy = 0;
      let n = 0;
      for (const s of speech) {
        for (let i = s.startMs * 8; i < s.endMs * 8; i++) {
          energy += pcm[i]! * pcm[i]!;
          n++;
        }
      }
      expect(10 * Math.log10(energy / n / 32768 ** 2)).toBeGreaterThan(-30);

      // The bridge's recording of the call.
      const callSid = /connected: call (CA[0-9a-f]{32})/.exec(cli.stdout)?.[1];
      expect(callSid).toBeDefined();
      bridge.child.kill('SIGTERM');
      await bridge.exited;
      const recordings = path.join(dir, 'data/recordings');
      const recording = readRecording(path.join(recordings, `${callSid}.jsonl`));
      if (!recording.ok) throw new Error(recording.reason);
      expect(new Set(recording.recording.lines.map((l) => l.dir))).toEqual(new Set(DIRECTIONS));
      // every file of the recording, the audio tracks too
      const text = readdirSync(recordings)
        .map((f) => readFileSync(path.join(recordings, f), 'latin1'))
        .join('\n');
      for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/v1\.\d+\.[\w-]+\.[\w-]+/); // a stream token
      expect(text).toContain('"token":"[redacted]"');
    },
  );
});
