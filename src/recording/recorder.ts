/**
 * The call recorder: one observer ({@link CallTap}) that the call factory plugs into both
 * links and the sockets' lifecycle. It writes `DATA_DIR/recordings/<CallSid>.jsonl`, a compact
 * event log, and beside it one binary audio track per direction (format 3 in
 * `protocol/recording.ts`). It observes and never influences: a write error is logged and
 * recording stops for that call, the call goes on.
 *
 * Cheap on the audio path, which runs ~125 times a second per call: a media frame's base64 is
 * decoded straight into its track's buffer and the rest of the frame's text is kept as it
 * came (checked for secret keys, scrubbed of secret values) — no `JSON.parse`, no deep copy,
 * no `JSON.stringify` of audio; a caller append is taken as bytes. Everything else (a few
 * messages a second) is parsed and redacted in full.
 *
 * Writing never blocks the audio path: lines and audio are buffered in memory and appended to
 * the files on a timer and at the end, asynchronously. Each flush appends the tracks first,
 * then the lines, so a crash leaves a readable recording up to the last flush.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

import type { CallTap, ModelTap, TwilioTap } from '../call/call-factory.js';
import type { Profile } from '../config/numbers.js';
import {
  audioField,
  DIRECTIONS,
  RECORDING_FORMAT,
  RECORDING_VERSION,
  type Direction,
  type RecordedProfile,
  type RecordingHeader,
  type Track,
} from '../protocol/recording.js';
import type { Redactor } from '../security/redact.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/**
 * How often buffered lines and audio are appended: bounds what a crash can lose. Each flush is
 * up to five writes through the thread pool, whose wake-ups cost the call's core more than the
 * bytes do (see bench/README.md, recording on vs off).
 */
export const RECORDING_FLUSH_MS = 2_000;

export interface RecorderOptions {
  dir: string;
  clock: Clock;
  redactor: Redactor;
  logger: Logger;
  header: Omit<RecordingHeader, 'type' | 'format' | 'version' | 'startedAt' | 'tracks'>;
}

/** The header's copy of a profile: everything but its key (which the header has as `profile`). */
export function recordedProfile(profile: Profile): RecordedProfile {
  const { key: _key, ...rest } = profile;
  return {
    ...rest,
    tools: [...rest.tools],
    customTools: (rest.customTools ?? []).map((t) => ({
      name: t.name,
      description: t.description,
      parameters: t.parameters,
      http: { url: t.http.url, method: t.http.method, timeoutMs: t.http.timeoutMs },
      waitMessage: t.waitMessage,
      waitAfterMs: t.waitAfterMs,
    })),
    turnDetection: { ...rest.turnDetection },
    transcription: rest.transcription === null ? null : { ...rest.transcription },
    idle: rest.idle ? { ...rest.idle, prompts: [...rest.idle.prompts] } : (rest.idle ?? null),
  };
}

/** A safe base name for a CallSid's files (Twilio's are alphanumeric; anything else is replaced). */
function recordingBase(callSid: string): string {
  return callSid.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);
}

/** The log's file name for a CallSid. */
export function recordingFileName(callSid: string): string {
  return `${recordingBase(callSid)}.jsonl`;
}

/** Each direction's track: Twilio's side is μ-law 8 kHz, the model's what the call's audio mode sends. */
export function recordingTracks(callSid: string, audioMode: 'pcm16' | 'pcmu'): Record<Direction, Track> {
  const mulaw = (dir: Direction): Track => ({
    file: `${recordingBase(callSid)}.${dir}.ulaw`,
    encoding: 'mulaw',
    sampleRate: 8000,
  });
  const model = (dir: Direction): Track =>
    audioMode === 'pcmu'
      ? mulaw(dir)
      : { file: `${recordingBase(callSid)}.${dir}.pcm16`, encoding: 'pcm16', sampleRate: 24000 };
  return {
    twilio_in: mulaw('twilio_in'),
    twilio_out: mulaw('twilio_out'),
    model_in: model('model_in'),
    model_out: model('model_out'),
  };
}

const PAYLOAD_KEY = '"payload":"';

/** The smallest buffer a file's sink starts a flush period with. */
const SINK_MIN_BYTES = 4 * 1024;

/**
 * What one file gets between two flushes, written at once into one buffer outside the V8
 * heap: a line's text, a frame's audio (decoded from base64, or copied). Nothing per message
 * outlives the call into the tap, so the young generation's collections never copy a second
 * of buffered recording around or promote it to the old one.
 */
class ByteSink {
  private bytes: Buffer;
  length = 0;

  constructor() {
    this.bytes = Buffer.allocUnsafeSlow(SINK_MIN_BYTES);
  }

  private reserve(more: number): void {
    if (this.length + more <= this.bytes.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.length + more));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  /** Appends text as UTF-8. */
  text(value: string): void {
    this.reserve(value.length * 3);
    this.length += this.bytes.write(value, this.length, 'utf8');
  }

  /** Appends bytes; returns their count. */
  audio(value: Uint8Array): number {
    this.reserve(value.byteLength);
    this.bytes.set(value, this.length);
    this.length += value.byteLength;
    return value.byteLength;
  }

  /**
   * Decodes base64 into the sink; returns the bytes its line counts. Malformed base64 that
   * decodes short is padded with zeros, so the lines after it still find their audio.
   */
  base64(value: string): number {
    const n = Buffer.byteLength(value, 'base64');
    this.reserve(n);
    const written = this.bytes.write(value, this.length, n, 'base64');
    if (written < n) this.bytes.fill(0, this.length + written, this.length + n);
    this.length += n;
    return n;
  }

  /** The bytes so far, handed over for writing; the next period starts in a buffer of the size this one needed. */
  take(): Buffer {
    const out = this.bytes.subarray(0, this.length);
    this.bytes = Buffer.allocUnsafeSlow(Math.max(SINK_MIN_BYTES, this.length));
    this.length = 0;
    return out;
  }
}

export class CallRecorder implements CallTap {
  readonly file: string;
  private readonly trackFiles: Record<Direction, string>;
  private readonly startMs: number;
  private readonly log = new ByteSink();
  private readonly audio: Record<Direction, ByteSink> = {
    twilio_in: new ByteSink(),
    twilio_out: new ByteSink(),
    model_in: new ByteSink(),
    model_out: new ByteSink(),
  };
  private timer: TimerHandle | null = null;
  private writing: Promise<void>;
  /** open for the whole call: a flush is one write per file, not an open, a write and a close */
  private files: { log: FileHandle; tracks: Record<Direction, FileHandle> } | null = null;
  private readonly opened: FileHandle[] = [];
  private failed = false;
  private closed = false;

  constructor(private readonly options: RecorderOptions) {
    this.file = path.join(options.dir, recordingFileName(options.header.callSid));
    const tracks = recordingTracks(options.header.callSid, options.header.audioMode);
    this.trackFiles = {
      twilio_in: path.join(options.dir, tracks.twilio_in.file),
      twilio_out: path.join(options.dir, tracks.twilio_out.file),
      model_in: path.join(options.dir, tracks.model_in.file),
      model_out: path.join(options.dir, tracks.model_out.file),
    };
    this.startMs = options.clock.now();
    const header: RecordingHeader = {
      type: 'header',
      format: RECORDING_FORMAT,
      version: RECORDING_VERSION,
      startedAt: new Date(this.startMs).toISOString(),
      ...options.header,
      tracks,
    };
    // 'wx': a recording is never opened twice (SPEC §8); a second call with this CallSid goes unrecorded
    this.writing = this.openFiles(`${JSON.stringify(options.redactor.deep(header))}\n`).catch((err: unknown) =>
      this.fail(err),
    );
  }

  /**
   * Creates the log and the tracks — 'ax': a recording is never opened twice (SPEC §8); a second
   * call with this CallSid goes unrecorded — and writes the header.
   */
  private async openFiles(headerLine: string): Promise<void> {
    await mkdir(this.options.dir, { recursive: true });
    const openNew = async (file: string) => {
      const handle = await open(file, 'ax');
      this.opened.push(handle);
      return handle;
    };
    const log = await openNew(this.file);
    await log.appendFile(headerLine);
    const tracks = {} as Record<Direction, FileHandle>;
    for (const dir of DIRECTIONS) tracks[dir] = await openNew(this.trackFiles[dir]);
    this.files = { log, tracks };
  }

  /** A Twilio frame as it crossed the wire (text, as sent or received). */
  readonly twilio: TwilioTap = (dir, text) => {
    if (this.closed || this.failed) return;
    if (this.twilioFast(dir, text)) return;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof msg === 'object' && msg !== null) this.message(dir, msg as Record<string, unknown>);
  };

  /** The realtime link's wire traffic: messages, and caller audio as bytes. */
  readonly model: ModelTap = {
    message: (dir, wire) => {
      if (!this.closed && !this.failed) this.message(dir, wire as Record<string, unknown>);
    },
    appendAudio: (audio) => {
      if (this.closed || this.failed) return;
      const n = this.audio.model_in.audio(audio);
      this.log.text(
        `{"t":${this.t()},"dir":"model_in","audio":${n},"msg":{"type":"input_audio_buffer.append","audio":""}}\n`,
      );
      this.armFlush();
    },
  };

  /** A socket's lifecycle (see `protocol/recording.ts`). */
  lifecycle(dir: Direction, msg: Record<string, unknown>): void {
    if (!this.closed && !this.failed) this.message(dir, msg);
  }

  /**
   * A Twilio frame kept as its own text, without parsing: its base64 payload (if any) goes to
   * the track and is emptied in the line. False when the text needs the full path (it names a
   * secret key, like the `start` frame's stream token, or holds an escape).
   */
  private twilioFast(dir: 'twilio_in' | 'twilio_out', text: string): boolean {
    const key = text.indexOf(PAYLOAD_KEY);
    if (key < 0) {
      const safe = this.options.redactor.jsonText(text);
      if (safe === null) return false;
      this.line(dir, null, safe);
      return true;
    }
    const start = key + PAYLOAD_KEY.length;
    const end = text.indexOf('"', start);
    // one payload, without escapes (jsonText refuses them in the rest), in a media frame: the
    // reader puts the audio back into `media.payload` by that rule
    if (end < 0 || text.indexOf(PAYLOAD_KEY, end) >= 0 || text.lastIndexOf('\\', end) >= start) return false;
    const rest = this.options.redactor.jsonText(text.slice(0, start) + text.slice(end));
    if (rest === null || !rest.startsWith('{"event":"media"')) return false;
    this.line(dir, this.audio[dir].base64(text.slice(start, end)), rest);
    return true;
  }

  /** A parsed message: its audio (if any) to the track, the rest redacted. */
  private message(dir: Direction, msg: Record<string, unknown>): void {
    const field = audioField(dir, msg);
    const b64 = field?.[0][field[1]];
    if (field === null || typeof b64 !== 'string') {
      this.line(dir, null, this.redactedJson(msg));
      return;
    }
    // the audio leaves the message before it is serialized
    const [holder, name] = field;
    const copy = holder === msg ? { ...msg, [name]: '' } : { ...msg, media: { ...holder, [name]: '' } };
    this.line(dir, this.audio[dir].base64(b64), this.redactedJson(copy));
  }

  /**
   * The message as JSON with secrets out: checked as text when that is safe (most messages:
   * transcript deltas, response events), else deep-copied and redacted.
   */
  private redactedJson(msg: Record<string, unknown>): string {
    const { redactor } = this.options;
    try {
      const checked = redactor.jsonText(JSON.stringify(msg));
      if (checked !== null) return checked;
    } catch {
      // a cycle or a nesting too deep to serialize: the deep copy cuts both
    }
    return JSON.stringify(redactor.deep(msg));
  }

  private t(): number {
    return Math.round((this.options.clock.now() - this.startMs) * 10) / 10;
  }

  private line(dir: Direction, audioBytes: number | null, msgJson: string): void {
    const audio = audioBytes === null ? '' : `"audio":${audioBytes},`;
    this.log.text(`{"t":${this.t()},"dir":"${dir}",${audio}"msg":${msgJson}}\n`);
    this.armFlush();
  }

  private armFlush(): void {
    if (this.timer !== null) return;
    this.timer = this.options.clock.setTimer(RECORDING_FLUSH_MS, () => {
      this.timer = null;
      this.flush();
    });
  }

  private flush(): void {
    if (this.log.length === 0 || this.failed) return;
    const chunk = this.log.take();
    const tracks = DIRECTIONS.filter((dir) => this.audio[dir].length > 0).map(
      (dir) => [dir, this.audio[dir].take()] as const,
    );
    this.writing = this.writing
      .then(async () => {
        const files = this.files;
        if (files === null) return; // opening failed (and said so)
        // the audio a line refers to is on disk before the line
        await Promise.all(tracks.map(([dir, bytes]) => files.tracks[dir].appendFile(bytes)));
        await files.log.appendFile(chunk);
      })
      .catch((err: unknown) => this.fail(err));
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.options.logger.error({ err, file: this.file }, 'call recording failed; the call continues unrecorded');
  }

  /** Resolves when every flush started so far has reached the files. */
  whenWritten(): Promise<void> {
    return this.writing;
  }

  /** Writes what is buffered, stops recording and closes the files. */
  async close(): Promise<void> {
    if (this.closed) return this.writing;
    this.closed = true;
    if (this.timer !== null) this.options.clock.clearTimer(this.timer);
    this.timer = null;
    this.flush();
    this.writing = this.writing.then(async () => {
      this.files = null;
      const results = await Promise.allSettled(this.opened.splice(0).map((h) => h.close()));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed !== undefined) this.fail(failed.reason);
    });
    return this.writing;
  }
}
