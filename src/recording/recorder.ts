/**
 * The call recorder: taps both links' raw traffic and writes
 * `DATA_DIR/recordings/<CallSid>.jsonl` (format in `protocol/recording.ts`). It observes and
 * never influences: a write error is logged and recording stops for that call, the call
 * goes on.
 *
 * Writing never blocks the audio path: lines are buffered in memory and appended to the file
 * on a timer and at the end, asynchronously. Each flush writes whole lines, so a crash leaves
 * a readable file up to the last flush.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { CallTap, ModelTap, TwilioTap } from '../call/call-factory.js';
import type { Profile } from '../config/numbers.js';
import {
  RECORDING_FORMAT,
  RECORDING_VERSION,
  type Direction,
  type RecordedProfile,
  type RecordingHeader,
} from '../protocol/recording.js';
import type { Redactor } from '../security/redact.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/** How often buffered lines are appended: bounds what a crash can lose. */
export const RECORDING_FLUSH_MS = 1_000;

export interface RecorderOptions {
  dir: string;
  clock: Clock;
  redactor: Redactor;
  logger: Logger;
  header: Omit<RecordingHeader, 'type' | 'format' | 'version' | 'startedAt'>;
}

/** The header's copy of a profile: everything but its key (which the header has as `profile`). */
export function recordedProfile(profile: Profile): RecordedProfile {
  const { key: _key, ...rest } = profile;
  return {
    ...rest,
    tools: [...rest.tools],
    turnDetection: { ...rest.turnDetection },
    transcription: rest.transcription === null ? null : { ...rest.transcription },
  };
}

/** A safe file name for a CallSid (Twilio's are alphanumeric; anything else is replaced). */
export function recordingFileName(callSid: string): string {
  return `${callSid.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80)}.jsonl`;
}

export class CallRecorder implements CallTap {
  readonly file: string;
  private readonly startMs: number;
  private buffer: string[] = [];
  private timer: TimerHandle | null = null;
  private writing: Promise<void>;
  private failed = false;
  private closed = false;

  constructor(private readonly options: RecorderOptions) {
    this.file = path.join(options.dir, recordingFileName(options.header.callSid));
    this.startMs = options.clock.now();
    const header: RecordingHeader = {
      type: 'header',
      format: RECORDING_FORMAT,
      version: RECORDING_VERSION,
      startedAt: new Date(this.startMs).toISOString(),
      ...options.header,
    };
    this.writing = mkdir(options.dir, { recursive: true })
      // 'wx': a recording file is never opened twice (SPEC §8); a second call with this CallSid goes unrecorded
      .then(() => writeFile(this.file, `${JSON.stringify(options.redactor.deep(header))}\n`, { flag: 'wx' }))
      .catch((err: unknown) => this.fail(err));
  }

  /** A Twilio frame as it crossed the wire (text, as sent or received). */
  readonly twilio: TwilioTap = (dir, text) => {
    if (this.closed || this.failed) return;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    this.add(dir, msg);
  };

  /** The realtime link's wire traffic. */
  readonly model: ModelTap = {
    message: (dir, wire) => this.add(dir, wire),
    appendAudio: (audio) =>
      this.add('model_in', {
        type: 'input_audio_buffer.append',
        audio: Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength).toString('base64'),
      }),
  };

  /** A socket's lifecycle (see `protocol/recording.ts`). */
  lifecycle(dir: Direction, msg: Record<string, unknown>): void {
    this.add(dir, msg);
  }

  private add(dir: Direction, msg: unknown): void {
    if (this.closed || this.failed) return;
    const t = Math.round((this.options.clock.now() - this.startMs) * 10) / 10;
    this.buffer.push(`{"t":${t},"dir":"${dir}","msg":${JSON.stringify(this.options.redactor.deep(msg))}}`);
    if (this.timer === null) {
      this.timer = this.options.clock.setTimer(RECORDING_FLUSH_MS, () => {
        this.timer = null;
        this.flush();
      });
    }
  }

  private flush(): void {
    if (this.buffer.length === 0 || this.failed) return;
    const chunk = `${this.buffer.join('\n')}\n`;
    this.buffer = [];
    this.writing = this.writing.then(() => appendFile(this.file, chunk)).catch((err: unknown) => this.fail(err));
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.buffer = [];
    this.options.logger.error({ err, file: this.file }, 'call recording failed; the call continues unrecorded');
  }

  /** Resolves when every flush started so far has reached the file. */
  whenWritten(): Promise<void> {
    return this.writing;
  }

  /** Writes what is buffered and stops recording. */
  async close(): Promise<void> {
    if (this.closed) return this.writing;
    this.closed = true;
    if (this.timer !== null) this.options.clock.clearTimer(this.timer);
    this.timer = null;
    this.flush();
    return this.writing;
  }
}
