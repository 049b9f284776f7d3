/**
 * The recorder in a real call: the bridge on 127.0.0.1:0, the emulator, a simulated phone.
 * The recording is complete as soon as `Bridge.close()` resolves (a process exiting right
 * after must not cut its last lines), carries the profile for replay, and shows all four
 * directions plus the lifecycle lines.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { Bridge } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { RealtimeEmulator } from '../../src/emulator/realtime-emulator.js';
import { DIRECTIONS } from '../../src/protocol/recording.js';
import { readRecording } from '../../src/recording/recording-file.js';
import { formatReport, replayRecording } from '../../src/recording/replayer.js';
import { SimulatedPhone } from '../../src/sim/phone.js';
import { silentLogger } from '../../src/util/logger.js';
import { callerClip, TEST_PACING, until } from '../support/call-harness.js';
import { tempDir } from '../support/tmp.js';

describe('call recording', () => {
  it(
    'is complete when close() resolves right after the call ended, with the profile in its header',
    { timeout: 10_000 },
    async () => {
      const dir = tempDir();
      const config = loadConfig(
        { PORT: '0', HOST: '127.0.0.1', DATA_DIR: path.join(dir, 'data'), RECORD_CALLS: '1' },
        dir,
      );
      const emulator = new RealtimeEmulator({ pacing: TEST_PACING, seed: 3 });
      const bridge = await Bridge.start({ config, logger: silentLogger(), watchNumbers: false, emulator });
      const phone = new SimulatedPhone({
        bridgeUrl: bridge.localUrl,
        to: '+15551230001',
        callerAudio: callerClip('caller_hours.ulaw8k.wav'),
        timeScale: 2,
      });
      const model = emulator.nextSession();
      await phone.dial();
      const session = await model;
      await until(
        () => session.sent.some((e) => e.type === 'response.done') && phone.stats.marksEchoed > 0,
        5_000,
        'an answer, heard',
      );
      await phone.hangUp();
      await until(() => bridge.activeCalls === 0, 3_000, 'the call to end');
      await bridge.close();

      const recordings = path.join(config.dataDir, 'recordings');
      const file = readdirSync(recordings).find((f) => f.endsWith('.jsonl'));
      const parsed = readRecording(path.join(recordings, file!));
      if (!parsed.ok) throw new Error(parsed.reason);
      const { header, lines } = parsed.recording;
      // the log and one binary track per direction, all named by the CallSid (retention keeps them together)
      expect(readdirSync(recordings).sort()).toEqual(
        [file!, ...DIRECTIONS.map((d) => header.tracks?.[d]?.file ?? `missing ${d}`)].sort(),
      );
      expect(header).toMatchObject({
        version: 3,
        callSid: phone.callSid,
        canUseRest: false,
        profileConfig: { modelAudio: 'pcm16', tools: ['hang_up', 'transfer_call'] },
        tuning: { truncationCushionMs: 50 },
      });
      expect(new Set(lines.map((l) => l.dir))).toEqual(new Set(DIRECTIONS));
      expect(lines.find((l) => l.dir === 'model_in')?.msg).toEqual({ type: 'link.connect' });
      expect(lines.some((l) => l.dir === 'model_out' && l.msg['type'] === 'link.open')).toBe(true);
      // the last lines, written by the final flush: the caller's stop and the model socket closed at once
      expect(lines.at(-1)?.msg).toEqual({ type: 'link.close' });
      expect(lines.at(-2)?.msg).toMatchObject({ event: 'stop' });
      // the audio is back in its messages, as the wire carried it, and the call replays as recorded
      const append = lines.find((l) => l.msg['type'] === 'input_audio_buffer.append');
      expect(Buffer.from(String(append?.msg['audio']), 'base64').length).toBeGreaterThan(0);
      const report = await replayRecording(parsed.recording);
      expect(report.ok, formatReport(report)).toBe(true);
    },
  );
});
