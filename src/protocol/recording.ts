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
 * - `twilio_in`: Twilio's media socket closed (caller gone) — `{"event":"socket.closed","code"}`
 * - `twilio_out`: the bridge closed Twilio's media socket (hang-up tool, end of call) —
 *   `{"event":"socket.close","code","reason"}`
 *
 * Format versions: 1 = wire lines only; 2 = lifecycle lines, and the header carries the
 * profile and tuning in force (`profileConfig`, `canUseRest`, `tuning`), so a replay does
 * not depend on today's numbers file. Version 1 files still parse.
 */
import { z } from 'zod';

export const RECORDING_FORMAT = 'phone-bridge-recording';
export const RECORDING_VERSION = 2;

/** `type` (model side) / `event` (Twilio side) values of lifecycle lines (see the file header). */
export const LIFECYCLE_TYPES = {
  model_in: ['link.connect', 'link.reconnect', 'link.close'],
  model_out: ['link.open', 'link.closed', 'link.failed'],
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
  transferTo: z.string().nullable(),
  modelAudio: z.enum(['pcm16', 'pcmu']),
});
export type RecordedProfile = z.infer<typeof RecordedProfileSchema>;

export const DIRECTIONS = ['twilio_in', 'twilio_out', 'model_in', 'model_out'] as const;
export type Direction = (typeof DIRECTIONS)[number];

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
});
export type RecordingHeader = z.infer<typeof RecordingHeaderSchema>;

export const RecordingLineSchema = z.object({
  t: z.number(),
  dir: z.enum(DIRECTIONS),
  msg: z.record(z.string(), z.unknown()),
});
export type RecordingLine = z.infer<typeof RecordingLineSchema>;

export interface Recording {
  header: RecordingHeader;
  lines: RecordingLine[];
}

export type RecordingParse = { ok: true; recording: Recording } | { ok: false; reason: string };

/** Parses a whole recording. A truncated last line (a crash mid-write) is ignored. */
export function parseRecording(text: string): RecordingParse {
  const rows = text.split('\n').filter((l) => l.trim() !== '');
  if (rows.length === 0) return { ok: false, reason: 'empty file' };
  let header: RecordingHeader;
  try {
    const parsed = RecordingHeaderSchema.safeParse(JSON.parse(rows[0]!));
    if (!parsed.success)
      return { ok: false, reason: `line 1: not a recording header (${parsed.error.issues[0]?.message ?? 'invalid'})` };
    header = parsed.data;
  } catch {
    return { ok: false, reason: 'line 1: not JSON' };
  }
  if (header.version > RECORDING_VERSION)
    return {
      ok: false,
      reason: `recording format version ${header.version} is newer than this bridge understands (${RECORDING_VERSION})`,
    };
  const lines: RecordingLine[] = [];
  for (let i = 1; i < rows.length; i++) {
    let json: unknown;
    try {
      json = JSON.parse(rows[i]!);
    } catch {
      if (i === rows.length - 1) break;
      return { ok: false, reason: `line ${i + 1}: not JSON` };
    }
    const parsed = RecordingLineSchema.safeParse(json);
    if (!parsed.success) return { ok: false, reason: `line ${i + 1}: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
    lines.push(parsed.data);
  }
  return { ok: true, recording: { header, lines } };
}
