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
 */
import { z } from 'zod';

export const RECORDING_FORMAT = 'phone-bridge-recording';
export const RECORDING_VERSION = 1;

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
  /** session tuning in force when recorded (the replayer compares against it) */
  tuning: z.record(z.string(), z.number()).optional(),
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
    if (!parsed.success) return { ok: false, reason: `line 1: not a recording header (${parsed.error.issues[0]?.message ?? 'invalid'})` };
    header = parsed.data;
  } catch {
    return { ok: false, reason: 'line 1: not JSON' };
  }
  if (header.version > RECORDING_VERSION) return { ok: false, reason: `recording format version ${header.version} is newer than this bridge understands (${RECORDING_VERSION})` };
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
