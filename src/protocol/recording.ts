/**
 * The recorded-call format (SPEC §7): JSON Lines. The first line is a header; every other
 * line is one message that crossed the bridge:
 *
 * ```
 * {"type":"header","format":"phone-bridge-recording","version":1,"callSid":"CA…",…}
 * {"t":12.5,"dir":"twilio_in","msg":{"event":"media",…}}
 * ```
 *
 * `t` is ms since the call started (the injected clock); `dir` is `twilio_in` (Twilio →
 * bridge), `twilio_out` (bridge → Twilio), `model_in` (bridge → model) or `model_out`
 * (model → bridge). Secrets are redacted before a line is written.
 *
 * Besides wire messages, a recording holds *lifecycle lines*: what happened to a socket,
 * which no wire message says but a replay needs (a model socket that dropped and came back,
 * the bridge hanging up). They use the same `{t, dir, msg}` shape with a `type` / `event`
 * that no wire message has ({@link LIFECYCLE_TYPES}), by `dir`:
 *
 * - `model_in`: the bridge asked the realtime link to open / replace / close its socket —
 *   `{"type":"link.connect"}`, `{"type":"link.reconnect","reason"}`, `{"type":"link.close"}`
 * - `model_out`: the realtime link reported its socket open / closed / given up —
 *   `{"type":"link.open","reconnect"}`, `{"type":"link.closed","code","reason","willRetry","retryInMs"}`,
 *   `{"type":"link.failed","message","providerCode"}`
 *   Tool work outside the session (an HTTP tool's request, an MCP call through the bridge) is
 *   recorded on the model side too, so a replay needs no backend: `model_in`
 *   `{"type":"tool.call","call_id","name","arguments"}` when the job starts, `model_out`
 *   `{"type":"tool.result","call_id","output"}` when its output is in (the replay answers the
 *   job with it).
 * - `twilio_in`: Twilio's media socket closed (caller gone) — `{"event":"socket.closed","code"}`
 * - `twilio_out`: the bridge closed Twilio's media socket (hang-up tool, end of call) —
 *   `{"event":"socket.close","code","reason"}`
 *
 * Audio (format 3): the bytes of an audio message are kept in a binary track beside the log,
 * one file per direction named in the header's `tracks` (`<CallSid>.twilio_in.ulaw`, …: raw
 * μ-law 8 kHz, or PCM16 24 kHz little-endian for the model side in `pcm16` mode), and the
 * line carries their length instead of their base64:
 *
 * ```
 * {"t":40,"dir":"twilio_in","audio":160,"msg":{"event":"media","media":{…,"payload":""},…}}
 * ```
 *
 * The message's audio field (`media.payload` on the Twilio side, `audio` of an
 * `input_audio_buffer.append`, `delta` of an audio delta) is empty in the log; its bytes are
 * the next `audio` bytes of that direction's track. {@link parseRecording} puts them back as
 * base64, so a parsed recording of any version has the same lines.
 *
 * Format versions: 1 = wire lines only; 2 = lifecycle lines, and the header carries the
 * profile and tuning in force (`profileConfig`, `canUseRest`, `tuning`), so a replay does
 * not depend on today's numbers file; 3 = audio in binary tracks. Versions 1 and 2 still
 * parse.
 */
import { z } from 'zod';

export const RECORDING_FORMAT = 'phone-bridge-recording';
export const RECORDING_VERSION = 3;

/** `type` (model side) / `event` (Twilio side) values of lifecycle lines (see the file header). */
export const LIFECYCLE_TYPES = {
  model_in: ['link.connect', 'link.reconnect', 'link.close', 'tool.call'],
  model_out: ['link.open', 'link.closed', 'link.failed', 'tool.result'],
  twilio_in: ['socket.closed'],
  twilio_out: ['socket.close'],
} as const;

/** The kind of a recorded message: `type` on the model side, `event` on the Twilio side ('' when absent). */
export function messageKind(dir: Direction, msg: Record<string, unknown>): string {
  const kind = dir === 'model_in' || dir === 'model_out' ? msg['type'] : msg['event'];
  return typeof kind === 'string' ? kind : '';
}

/** True for a lifecycle line (not a wire message). */
export function isLifecycleLine(dir: Direction, msg: Record<string, unknown>): boolean {
  return (LIFECYCLE_TYPES[dir] as readonly string[]).includes(messageKind(dir, msg));
}

/**
 * The profile a call ran with, as recorded in the header (the numbers-file profile minus its
 * key, in the bridge's own field names; see `config/numbers.ts` `Profile`).
 */
export const RecordedProfileSchema = z.object({
  instructions: z.string(),
  voice: z.string(),
  greeting: z.string().nullable(),
  goodbye: z.string().nullable().optional(),
  greetingInterruptible: z.boolean(),
  turnDetection: z.discriminatedUnion('type', [
    z.object({
      type: z.literal('server_vad'),
      threshold: z.number(),
      prefixPaddingMs: z.number(),
      silenceDurationMs: z.number(),
    }),
    z.object({ type: z.literal('semantic_vad'), eagerness: z.enum(['low', 'medium', 'high', 'auto']) }),
  ]),
  transcription: z.object({ model: z.string(), language: z.string().optional() }).nullable(),
  tools: z.array(z.string()),
  /** the profile's HTTP tools, as declared to the model (their requests are not repeated by a replay) */
  customTools: z
    .array(
      z.object({
        name: z.string(),
        description: z.string(),
        parameters: z.record(z.string(), z.unknown()),
        http: z.object({ url: z.string(), method: z.enum(['POST', 'GET']), timeoutMs: z.number() }),
        waitMessage: z.string().nullable(),
        waitAfterMs: z.number(),
      }),
    )
    .optional(),
  /** silence handling (SPEC §11); absent in recordings made before it existed */
  idle: z
    .object({ afterMs: z.number(), prompts: z.array(z.string()), endAfter: z.number(), goodbye: z.string() })
    .nullable()
    .optional(),
  transferTo: z.string().nullable(),
  modelAudio: z.enum(['pcm16', 'pcmu']),
});
export type RecordedProfile = z.infer<typeof RecordedProfileSchema>;

export const DIRECTIONS = ['twilio_in', 'twilio_out', 'model_in', 'model_out'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export const TrackSchema = z.object({
  file: z.string(),
  encoding: z.enum(['mulaw', 'pcm16']),
  sampleRate: z.number().int().positive(),
});
export type Track = z.infer<typeof TrackSchema>;

export const RecordingHeaderSchema = z.object({
  type: z.literal('header'),
  format: z.literal(RECORDING_FORMAT),
  version: z.number().int(),
  callSid: z.string(),
  profile: z.string(),
  dialect: z.enum(['ga', 'beta']),
  audioMode: z.enum(['pcm16', 'pcmu']),
  bridgeVersion: z.string(),
  startedAt: z.string(),
  /** what the call exercises, for fixtures ("barge-in mid-answer") */
  scenario: z.string().optional(),
  /** session tuning in force when recorded (the replayer runs with it unless told otherwise) */
  tuning: z.record(z.string(), z.number()).optional(),
  /** v2: the profile in force (replay rebuilds the session from it) */
  profileConfig: RecordedProfileSchema.optional(),
  /** v2: Twilio REST credentials were configured (hang-up and transfer go through REST) */
  canUseRest: z.boolean().optional(),
  /** v3: each direction's audio track: a file beside the log (a bare name) and its encoding */
  tracks: z.partialRecord(z.enum(DIRECTIONS), TrackSchema).optional(),
});
export type RecordingHeader = z.infer<typeof RecordingHeaderSchema>;

export const RecordingLineSchema = z.object({
  t: z.number(),
  dir: z.enum(DIRECTIONS),
  msg: z.record(z.string(), z.unknown()),
});

/** A line as stored in format 3: `audio` = bytes of its message's audio in the direction's track. */
const StoredLineSchema = RecordingLineSchema.extend({ audio: z.number().int().nonnegative().optional() });

/** The model's audio delta, by dialect (GA, beta). */
const AUDIO_DELTA_TYPES: ReadonlySet<unknown> = new Set(['response.output_audio.delta', 'response.audio.delta']);

/**
 * Where a message carries its audio as base64: the object holding the field and the field's
 * name, or null for a message without audio.
 */
export function audioField(dir: Direction, msg: Record<string, unknown>): [Record<string, unknown>, string] | null {
  switch (dir) {
    case 'twilio_in':
    case 'twilio_out': {
      const media = msg['media'];
      return msg['event'] === 'media' && typeof media === 'object' && media !== null
        ? [media as Record<string, unknown>, 'payload']
        : null;
    }
    case 'model_in':
      return msg['type'] === 'input_audio_buffer.append' ? [msg, 'audio'] : null;
    case 'model_out':
      return AUDIO_DELTA_TYPES.has(msg['type']) ? [msg, 'delta'] : null;
  }
}

/** Each direction's audio track, as read from the files the header names. */
export type TrackBytes = Partial<Record<Direction, Uint8Array>>;
export type RecordingLine = z.infer<typeof RecordingLineSchema>;

export interface Recording {
  header: RecordingHeader;
  lines: RecordingLine[];
}

export type RecordingParse = { ok: true; recording: Recording } | { ok: false; reason: string };

/** The header (first line) of a recording, or why it is not one. */
export function parseRecordingHeader(
  text: string,
): { ok: true; header: RecordingHeader } | { ok: false; reason: string } {
  const end = text.indexOf('\n');
  const first = (end < 0 ? text : text.slice(0, end)).trim();
  if (first === '') return { ok: false, reason: 'empty file' };
  try {
    const parsed = RecordingHeaderSchema.safeParse(JSON.parse(first));
    if (!parsed.success)
      return { ok: false, reason: `line 1: not a recording header (${parsed.error.issues[0]?.message ?? 'invalid'})` };
    return { ok: true, header: parsed.data };
  } catch {
    return { ok: false, reason: 'line 1: not JSON' };
  }
}

/**
 * Parses a whole recording; `tracks` holds the audio tracks a format 3 header names. A
 * truncated last line (a crash mid-write) is ignored; the tracks are written before the lines
 * that refer to them, so a track shorter than its lines say is an error, not a crash.
 */
export function parseRecording(text: string, tracks: TrackBytes = {}): RecordingParse {
  const rows = text.split('\n').filter((l) => l.trim() !== '');
  const head = parseRecordingHeader(rows[0] ?? '');
  if (!head.ok) return head;
  const header = head.header;
  if (header.version > RECORDING_VERSION)
    return {
      ok: false,
      reason: `recording format version ${header.version} is newer than this bridge understands (${RECORDING_VERSION})`,
    };
  const lines: RecordingLine[] = [];
  const offsets: Record<Direction, number> = { twilio_in: 0, twilio_out: 0, model_in: 0, model_out: 0 };
  for (let i = 1; i < rows.length; i++) {
    let json: unknown;
    try {
      json = JSON.parse(rows[i]!);
    } catch {
      if (i === rows.length - 1) break;
      return { ok: false, reason: `line ${i + 1}: not JSON` };
    }
    const parsed = StoredLineSchema.safeParse(json);
    if (!parsed.success) return { ok: false, reason: `line ${i + 1}: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
    const { audio, ...line } = parsed.data;
    if (audio !== undefined) {
      const track = tracks[line.dir];
      const at = offsets[line.dir];
      const field = audioField(line.dir, line.msg);
      if (field === null) return { ok: false, reason: `line ${i + 1}: audio bytes on a message that carries no audio` };
      if (track === undefined || at + audio > track.byteLength)
        return {
          ok: false,
          reason: `line ${i + 1}: the ${line.dir} audio track ${track === undefined ? 'is missing' : 'ends early'}`,
        };
      field[0][field[1]] = Buffer.from(track.buffer, track.byteOffset + at, audio).toString('base64');
      offsets[line.dir] = at + audio;
    }
    lines.push(line);
  }
  return { ok: true, recording: { header, lines } };
}

/**
 * A recording as one self-contained JSONL text: format {@link RECORDING_VERSION}, every line's
 * audio inline as base64 (a line's `audio` bytes are optional) and so no tracks — for a
 * recording that must travel as one file (`npm run replay -- --save`, `--out`).
 */
export function recordingToText(header: RecordingHeader, lines: readonly RecordingLine[]): string {
  const { tracks: _tracks, ...rest } = header;
  const out = [JSON.stringify({ ...rest, version: RECORDING_VERSION }), ...lines.map((l) => JSON.stringify(l))];
  return `${out.join('\n')}\n`;
}
