/**
 * Replays a Twilio-side capture (see `capture.ts`) against a live bridge: the bridge runs
 * in-process on 127.0.0.1 with the built-in emulator as its model (whatever model
 * credentials the environment holds are ignored) and recording on; the simulated phone
 * places the call (webhook first, for the stream token) and sends the capture's frames at
 * their media times, faster than real time if asked — the emulator's VAD runs on the audio
 * clock, so the turns it sees do not depend on the pace. Afterwards the bridge's recording
 * of the call says which turns the model saw.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Bridge } from '../app.js';
import { loadConfig } from '../config/env.js';
import { RealtimeEmulator } from '../emulator/realtime-emulator.js';
import { recordingToText, type Recording } from '../protocol/recording.js';
import { SimulatedPhone } from '../sim/phone.js';
import { SystemClock } from '../util/clock.js';
import { silentLogger, type Logger } from '../util/logger.js';

import { readRecording } from './recording-file.js';
import { phoneScript, turnsFromRecording, type ModelTurn, type TwilioCapture } from './capture.js';

/** An unlisted number, so the numbers file's `defaults` profile answers. */
export const CAPTURE_DEFAULT_TO = '+15550100100';

/** All optional. */
export interface CaptureReplayOptions {
  /** the called number (picks the profile); default {@link CAPTURE_DEFAULT_TO} */
  to?: string;
  /** numbers file; default as `npm start` finds it (`./numbers.yaml`, else the example) */
  numbersFile?: string;
  /** multiple of real time (default 4) */
  speed?: number;
  /** ms of silence the caller stays on the line after the capture's last frame (default 0) */
  lingerMs?: number;
  logger?: Logger;
  /** called with the media time reached, ms */
  onProgress?: (mediaMs: number, totalMs: number) => void;
}

/** What the model saw of a capture, and the bridge's recording of the call. */
export interface CaptureReplayReport {
  turns: ModelTurn[];
  /** the bridge's own recording of the replayed call (replayable with `npm run replay`) */
  recording: Recording;
  /** the same as one self-contained JSONL file (audio inline) */
  recordingText: string;
  /** the profile and audio mode the bridge used */
  profile: string;
  audioMode: 'pcm16' | 'pcmu';
  dialect: 'ga' | 'beta';
  framesSent: number;
  /** assistant audio the caller heard, ms */
  playedMs: number;
  bargeIns: number;
  /** media time of the capture's first frame (the model's audio clock starts there) */
  firstFrameMs: number;
  wallMs: number;
}

/** Resolves when `predicate` holds (checked every few ms on `clock`), else rejects after `timeoutMs`. */
function until(clock: SystemClock, predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = clock.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (predicate()) resolve();
      else if (clock.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else clock.setTimer(5, check);
    };
    check();
  });
}

/**
 * Streams a capture through an in-process bridge and the emulator (see the file header).
 * @throws Error when the call cannot be placed or the bridge writes no readable recording
 */
export async function replayCapture(
  capture: TwilioCapture,
  options: CaptureReplayOptions = {},
): Promise<CaptureReplayReport> {
  const clock = new SystemClock();
  const wallStart = clock.now();
  const speed = options.speed ?? 4;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capture-replay-'));
  try {
    // Only what a local bridge needs: no provider keys, so the emulator answers.
    const env: Record<string, string> = {
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: path.join(dir, 'data'),
      RECORD_CALLS: '1',
    };
    if (options.numbersFile !== undefined) env['NUMBERS_FILE'] = path.resolve(options.numbersFile);
    const config = loadConfig(env, process.cwd());
    // The emulator streams ahead of playout as the real API does, at the same multiple.
    const emulator = new RealtimeEmulator({ pacing: { speed: 4 * speed } });
    const bridge = await Bridge.start({
      config,
      logger: options.logger ?? silentLogger(),
      watchNumbers: false,
      emulator,
    });
    let phone: SimulatedPhone;
    try {
      const script = phoneScript(capture, options.lingerMs ?? 0);
      phone = new SimulatedPhone({
        bridgeUrl: bridge.localUrl,
        to: options.to ?? CAPTURE_DEFAULT_TO,
        callSid: capture.callSid,
        accountSid: capture.accountSid,
        callerAudio: script.callerAudio,
        dropFrame: script.dropFrame,
        dtmf: script.dtmf,
        timeScale: speed,
      });
      await phone.dial();
      const endMs = script.endMs;
      await until(
        clock,
        () => {
          options.onProgress?.(Math.min(endMs, phone.nowMs()), endMs);
          return (phone.nowMs() >= endMs + 20 && phone.stats.framesSent >= capture.frames.length) || !phone.isOpen;
        },
        endMs / speed + 10_000,
        'the capture to be sent',
      );
      // The model must have heard the whole capture before the caller hangs up (the bridge
      // closes the model socket at `stop`): at high speed on a busy machine it can lag.
      const audioMs = endMs - Math.round(capture.frames[0]!.timestampMs / 20) * 20;
      await until(
        clock,
        () => !phone.isOpen || (emulator.sessions.at(-1)?.inputAudioMs ?? 0) >= audioMs - 20,
        10_000,
        'the model to receive the capture',
      ).catch(() => undefined);
      if (phone.isOpen) {
        if (capture.stopped) await phone.hangUp();
        else phone.drop();
      }
      await until(clock, () => bridge.activeCalls === 0, 5_000, 'the call to end');
    } finally {
      await bridge.close();
    }
    const recordings = path.join(config.dataDir, 'recordings');
    const file = readdirSync(recordings).find((f) => f.endsWith('.jsonl'));
    if (file === undefined) throw new Error('the bridge wrote no recording of the call');
    const parsed = readRecording(path.join(recordings, file));
    if (!parsed.ok) throw new Error(`the bridge's recording is unreadable: ${parsed.reason}`);
    const recording = parsed.recording;
    // the recording's folder goes away below: its tracks travel inline
    const recordingText = recordingToText(recording.header, recording.lines);
    return {
      turns: turnsFromRecording(recording),
      recording,
      recordingText,
      profile: recording.header.profile,
      audioMode: recording.header.audioMode,
      dialect: recording.header.dialect,
      framesSent: phone.stats.framesSent,
      playedMs: phone.stats.playedMs,
      bargeIns: phone.clears.length,
      firstFrameMs: capture.frames[0]!.timestampMs,
      wallMs: clock.now() - wallStart,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
