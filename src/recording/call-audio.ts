/**
 * A recorded call as the two people heard it, on the call clock (SPEC §12): the caller's
 * frames where Twilio's `media.timestamp` puts them, and the assistant's frames as the
 * phone played them — back to back from when each was sent, cut at every `clear` (a
 * barge-in: what was still queued was never heard).
 *
 * {@link scanRecording} reads a format-3 recording's log line by line (its audio stays in
 * the tracks) and returns where each frame lands and the facts the timeline shows.
 * {@link streamCallWav} then writes the stereo WAV (left the caller, right the assistant,
 * 8 kHz 16-bit) one second at a time, reading the tracks as it goes: a ten-minute call is
 * never held in memory whole.
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

import { decodeMulaw } from '../audio/g711.js';
import { RECORDING_FORMAT } from '../protocol/recording.js';

/** Both Twilio tracks are μ-law 8 kHz: one byte is one sample, 8 samples one millisecond. */
export const CALL_AUDIO_RATE_HZ = 8000;
const SAMPLES_PER_MS = CALL_AUDIO_RATE_HZ / 1000;
/** Samples written per step of the WAV stream (one second: 32 KB of stereo PCM). */
const BLOCK_SAMPLES = CALL_AUDIO_RATE_HZ;

/** The start of a log line as the recorder writes it: `{"t":…,"dir":"…","audio":…,"msg":` (audio optional). */
const FAST_LINE = /^\{"t":(-?[0-9.]+),"dir":"(twilio_in|twilio_out|model_in|model_out)",(?:"audio":([0-9]+),)?"msg":/;
/** Model events the timeline does not use that come by the hundred: audio and transcript deltas. */
const MODEL_STREAM = /^\{"type":"(response\.(output_)?audio\.delta|response\.(output_)?audio_transcript\.delta)"/;
const TIMESTAMP = /"timestamp":"([0-9]+)"/;
const DIRECTIONS = new Set(['twilio_in', 'twilio_out', 'model_in', 'model_out']);

/** Frames of one side placed on the call clock: `samples` bytes of its track from `trackOffset`, from `atSample` on. */
export interface AudioSpan {
  atSample: number;
  trackOffset: number;
  samples: number;
}

/** What the timeline needs besides the audio, in call-clock ms. */
export interface CallFacts {
  /** the model's VAD: caller speech started / stopped */
  speechStarted: number[];
  speechStopped: number[];
  /** every Twilio `clear`: a barge-in cut */
  clears: number[];
  /** every function call the model made */
  tools: { atMs: number; name: string; arguments: string }[];
}

export interface CallAudioPlan {
  callSid: string;
  startedAt: string | null;
  durationMs: number;
  /** the caller's track (twilio_in) and the assistant's (twilio_out), absolute paths */
  tracks: { caller: string; assistant: string };
  caller: AudioSpan[];
  assistant: AudioSpan[];
  facts: CallFacts;
}

export type ScanResult = { ok: true; plan: CallAudioPlan } | { ok: false; reason: string };

function asRecord(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function trackFile(logFile: string, header: Record<string, unknown>, dir: string): string | null {
  const track = asRecord(asRecord(header['tracks'])?.[dir]);
  const file = track?.['file'];
  if (typeof file !== 'string' || path.basename(file) !== file || file.startsWith('.')) return null;
  if (track?.['encoding'] !== 'mulaw' || track['sampleRate'] !== CALL_AUDIO_RATE_HZ) return null;
  return path.join(path.dirname(logFile), file);
}

/** Puts spans in order and trims overlaps (a late frame never plays over an earlier one). */
function ordered(spans: AudioSpan[]): AudioSpan[] {
  spans.sort((a, b) => a.atSample - b.atSample);
  let end = 0;
  const out: AudioSpan[] = [];
  for (const s of spans) {
    const skip = Math.max(0, end - s.atSample);
    if (skip >= s.samples) continue;
    out.push({ atSample: s.atSample + skip, trackOffset: s.trackOffset + skip, samples: s.samples - skip });
    end = s.atSample + s.samples;
  }
  return out;
}

/**
 * The lines of a file, a megabyte's worth at a time (`readline`'s one promise per line was
 * ~70 of the ~120 ms a 10-minute recording's scan took).
 */
async function* lineBatches(file: string): AsyncGenerator<string[]> {
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const lines = (rest + String(chunk)).split('\n');
    rest = lines.pop() ?? '';
    yield lines;
  }
  if (rest !== '') yield [rest];
}

/**
 * Reads a recording's log (format 3: audio in μ-law tracks beside it) and places both sides
 * on the call clock. A line that is not JSON (a crash mid-write) is skipped.
 */
export async function scanRecording(logFile: string): Promise<ScanResult> {
  let header: Record<string, unknown> | null = null;
  let tracks: CallAudioPlan['tracks'] | null = null;
  /** bytes of each Twilio track used so far: where the next frame's audio starts */
  const offsets = { twilio_in: 0, twilio_out: 0 };
  const caller: AudioSpan[] = [];
  const assistant: AudioSpan[] = [];
  const facts: CallFacts = { speechStarted: [], speechStopped: [], clears: [], tools: [] };
  const toolNames = new Map<string, string>();
  let callerOffsetMs: number | null = null;
  let playEndSample = 0;
  let lastMs = 0;
  const onCallerFrame = (t: number, bytes: number, stamp: number) => {
    const at = offsets.twilio_in;
    offsets.twilio_in = at + bytes;
    const stampMs = Number.isFinite(stamp) ? stamp : t;
    callerOffsetMs ??= t - stampMs;
    caller.push({ atSample: Math.round((callerOffsetMs + stampMs) * SAMPLES_PER_MS), trackOffset: at, samples: bytes });
  };
  const onAssistantFrame = (t: number, bytes: number) => {
    const at = offsets.twilio_out;
    offsets.twilio_out = at + bytes;
    const start = Math.max(Math.round(t * SAMPLES_PER_MS), playEndSample);
    assistant.push({ atSample: start, trackOffset: at, samples: bytes });
    playEndSample = start + bytes;
  };
  for await (const batch of lineBatches(logFile))
    for (const text of batch) {
      if (text.trim() === '') continue;
      // Most lines are audio frames, written by the recorder in one fixed shape: read without JSON.parse.
      const fast = header === null ? null : FAST_LINE.exec(text);
      if (fast !== null) {
        const t = Number(fast[1]);
        const dir = fast[2]!;
        const bytes = fast[3] === undefined ? 0 : Number(fast[3]);
        const rest = text.slice(fast[0].length);
        if (dir === 'model_in' || (dir === 'model_out' && MODEL_STREAM.test(rest))) {
          lastMs = Math.max(lastMs, t);
          continue;
        }
        if (bytes > 0 && rest.startsWith('{"event":"media"') && (dir === 'twilio_in' || dir === 'twilio_out')) {
          lastMs = Math.max(lastMs, t);
          if (dir === 'twilio_in') onCallerFrame(t, bytes, Number(TIMESTAMP.exec(rest)?.[1]));
          else onAssistantFrame(t, bytes);
          continue;
        }
      }
      let line: Record<string, unknown> | null;
      try {
        line = asRecord(JSON.parse(text));
      } catch {
        continue;
      }
      if (line === null) continue;
      if (header === null) {
        if (line['type'] !== 'header' || line['format'] !== RECORDING_FORMAT)
          return { ok: false, reason: 'not a bridge recording' };
        header = line;
        const callerTrack = trackFile(logFile, line, 'twilio_in');
        const assistantTrack = trackFile(logFile, line, 'twilio_out');
        if (callerTrack === null || assistantTrack === null)
          return { ok: false, reason: 'the recording has no μ-law audio tracks (format 3 or later needed)' };
        tracks = { caller: callerTrack, assistant: assistantTrack };
        continue;
      }
      const t = typeof line['t'] === 'number' ? line['t'] : null;
      const dir = typeof line['dir'] === 'string' ? line['dir'] : null;
      const msg = asRecord(line['msg']);
      if (t === null || dir === null || msg === null || !DIRECTIONS.has(dir)) continue;
      lastMs = Math.max(lastMs, t);
      const bytes = typeof line['audio'] === 'number' && line['audio'] > 0 ? line['audio'] : 0;
      const kind = dir.startsWith('twilio') ? msg['event'] : msg['type'];
      if (dir === 'twilio_in' && kind === 'media' && bytes > 0)
        onCallerFrame(t, bytes, Number(asRecord(msg['media'])?.['timestamp']));
      else if (dir === 'twilio_out' && kind === 'media' && bytes > 0) onAssistantFrame(t, bytes);
      else if (dir === 'twilio_out' && kind === 'clear') {
        const cut = Math.round(t * SAMPLES_PER_MS);
        while (assistant.length > 0 && assistant.at(-1)!.atSample >= cut) assistant.pop();
        const last = assistant.at(-1);
        if (last !== undefined && last.atSample + last.samples > cut) last.samples = cut - last.atSample;
        playEndSample = Math.min(playEndSample, cut);
        facts.clears.push(t);
      } else if (dir === 'model_out') {
        if (kind === 'input_audio_buffer.speech_started') facts.speechStarted.push(t);
        else if (kind === 'input_audio_buffer.speech_stopped') facts.speechStopped.push(t);
        else if (kind === 'response.output_item.added') {
          const item = asRecord(msg['item']);
          if (item?.['type'] === 'function_call' && typeof item['id'] === 'string' && typeof item['name'] === 'string')
            toolNames.set(item['id'], item['name']);
        } else if (kind === 'response.function_call_arguments.done') {
          const name =
            typeof msg['name'] === 'string' ? msg['name'] : (toolNames.get(String(msg['item_id'])) ?? 'unknown');
          const args = typeof msg['arguments'] === 'string' ? msg['arguments'] : '';
          facts.tools.push({ atMs: t, name, arguments: args });
        }
      }
    }
  if (header === null || tracks === null) return { ok: false, reason: 'the recording is empty' };
  const spans = { caller: ordered(caller), assistant: ordered(assistant) };
  const audioEnd = Math.max(
    ...[spans.caller.at(-1), spans.assistant.at(-1)].map((s) => (s ? (s.atSample + s.samples) / SAMPLES_PER_MS : 0)),
  );
  return {
    ok: true,
    plan: {
      callSid: typeof header['callSid'] === 'string' ? header['callSid'] : '',
      startedAt: typeof header['startedAt'] === 'string' ? header['startedAt'] : null,
      durationMs: Math.ceil(Math.max(lastMs, audioEnd)),
      tracks,
      ...spans,
      facts,
    },
  };
}

/** The number of samples (per channel) of a plan's WAV. */
export function planSamples(plan: CallAudioPlan): number {
  return Math.round(plan.durationMs * SAMPLES_PER_MS);
}

/** The 44-byte header of a stereo 16-bit 8 kHz PCM WAV holding `samples` frames. */
export function stereoWavHeader(samples: number): Buffer {
  const dataBytes = samples * 4;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(2, 22);
  h.writeUInt32LE(CALL_AUDIO_RATE_HZ, 24);
  h.writeUInt32LE(CALL_AUDIO_RATE_HZ * 4, 28);
  h.writeUInt16LE(4, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/**
 * Reads one side's audio for `[from, from + count)` samples into `out` (PCM16) at `channel`
 * of `channels`; `cursor` carries the index of the first span that may still overlap, so a
 * whole call is read in one forward pass.
 */
async function fillLane(
  track: FileHandle,
  spans: AudioSpan[],
  cursor: { index: number },
  from: number,
  count: number,
  out: Int16Array,
  channel: number,
  channels: number,
): Promise<void> {
  const end = from + count;
  while (cursor.index < spans.length && spans[cursor.index]!.atSample + spans[cursor.index]!.samples <= from)
    cursor.index++;
  let last = cursor.index;
  while (last < spans.length && spans[last]!.atSample < end) last++;
  if (last === cursor.index) return;
  // the spans of a block lie in order in the track: one read covers them all
  const first = spans[cursor.index]!;
  const readFrom = first.trackOffset + Math.max(0, from - first.atSample);
  const lastSpan = spans[last - 1]!;
  const readTo = lastSpan.trackOffset + Math.min(lastSpan.samples, end - lastSpan.atSample);
  const mulaw = Buffer.alloc(Math.max(0, readTo - readFrom));
  const { bytesRead } = await track.read(mulaw, 0, mulaw.length, readFrom);
  const pcm = decodeMulaw(mulaw.subarray(0, bytesRead));
  for (let i = cursor.index; i < last; i++) {
    const span = spans[i]!;
    const a = Math.max(from, span.atSample);
    const b = Math.min(end, span.atSample + span.samples);
    const at = span.trackOffset + (a - span.atSample) - readFrom;
    for (let k = 0; k < b - a && at + k < pcm.length; k++) out[(a - from + k) * channels + channel] = pcm[at + k]!;
  }
}

/** The interleaved PCM16 samples of one block, `from` for `count` samples per channel. */
export type LaneReader = (from: number, count: number) => Promise<Int16Array>;

/**
 * Opens both tracks and returns a reader of stereo blocks (left the caller, right the
 * assistant) and its `close`. Blocks must be read in order.
 */
export async function openStereoReader(plan: CallAudioPlan): Promise<{ read: LaneReader; close: () => Promise<void> }> {
  const callerTrack = await open(plan.tracks.caller, 'r');
  let assistantTrack: FileHandle;
  try {
    assistantTrack = await open(plan.tracks.assistant, 'r');
  } catch (err) {
    await callerTrack.close();
    throw err;
  }
  const cursors = { caller: { index: 0 }, assistant: { index: 0 } };
  return {
    read: async (from, count) => {
      const out = new Int16Array(count * 2);
      await fillLane(callerTrack, plan.caller, cursors.caller, from, count, out, 0, 2);
      await fillLane(assistantTrack, plan.assistant, cursors.assistant, from, count, out, 1, 2);
      return out;
    },
    close: async () => {
      await Promise.all([callerTrack.close(), assistantTrack.close()]);
    },
  };
}

/** The byte length of a plan's WAV file. */
export function wavByteLength(plan: CallAudioPlan): number {
  return 44 + planSamples(plan) * 4;
}

/**
 * Bytes `[start, end]` (inclusive, as an HTTP Range says) of a plan's WAV, header first, then
 * one block of PCM at a time (see the file header): a player seeks without the whole file.
 */
export async function* streamCallWav(
  plan: CallAudioPlan,
  start = 0,
  end = wavByteLength(plan) - 1,
): AsyncGenerator<Buffer> {
  const total = planSamples(plan);
  const reader = await openStereoReader(plan);
  try {
    if (start < 44) yield stereoWavHeader(total).subarray(start, Math.min(44, end + 1));
    const firstSample = Math.max(0, Math.floor((start - 44) / 4));
    const lastSample = Math.min(total, Math.ceil((end + 1 - 44) / 4));
    for (let from = firstSample; from < lastSample; from += BLOCK_SAMPLES) {
      const block = await reader.read(from, Math.min(BLOCK_SAMPLES, lastSample - from));
      const bytes = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
      const offset = 44 + from * 4;
      yield bytes.subarray(Math.max(0, start - offset), Math.min(bytes.length, end + 1 - offset));
    }
  } finally {
    await reader.close();
  }
}
