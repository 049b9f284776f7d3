/**
 * Twilio-side captures: what people record from real calls — one Twilio Media Streams JSON
 * message per line (`connected`, `start`, `media`…, `stop`), no header, no model side
 * (e.g. `test/fixtures/captures/twilio-inbound-stream1.jsonl`).
 *
 * Such a capture cannot be replayed against recorded model answers (there are none), so
 * `npm run replay` drives a live bridge with it instead (`capture-replay.ts`) and reports
 * the turns the model saw. This module is the pure part: recognising and reading a capture,
 * turning it into the simulated phone's script, and reading the model's turns out of the
 * bridge's recording of that call.
 */
import { base64ByteLength } from '../protocol/base64.js';
import { modelAudioBytesPerMs } from '../protocol/realtime.js';
import { messageKind, type Recording } from '../protocol/recording.js';
import { parseTwilioMessage } from '../protocol/twilio.js';

/** 20 ms of μ-law 8 kHz. */
const FRAME_MS = 20;
const FRAME_BYTES = 160;

/** What a file holds, judged by its first line. */
export type RecordingFileKind = 'recording' | 'twilio-capture' | 'unknown';

/** A bridge recording starts with its header line; a capture with a Twilio message (`event`). */
export function detectFileKind(text: string): RecordingFileKind {
  const first = text.split('\n').find((l) => l.trim() !== '');
  if (first === undefined) return 'unknown';
  let json: unknown;
  try {
    json = JSON.parse(first);
  } catch {
    return 'unknown';
  }
  if (typeof json !== 'object' || json === null) return 'unknown';
  const o = json as Record<string, unknown>;
  if (o['type'] === 'header') return 'recording';
  if (typeof o['event'] === 'string') return 'twilio-capture';
  return 'unknown';
}

/** A Twilio Media Streams capture, read. */
export interface TwilioCapture {
  callSid: string;
  accountSid: string;
  streamSid: string;
  customParameters: Record<string, string>;
  /** inbound audio frames in order; `timestampMs` is Twilio's media clock */
  frames: { timestampMs: number; payload: Buffer }[];
  /** keys pressed, at the media time of the frame before them */
  dtmf: { digit: string; atMs: number }[];
  /** the capture ends with `stop` */
  stopped: boolean;
  /** lines that were not Twilio messages (skipped) */
  skipped: number;
}

export type CaptureParse = { ok: true; capture: TwilioCapture } | { ok: false; reason: string };

/** Reads a capture. Bad lines are counted and skipped; a capture without `start` is refused. */
export function parseTwilioCapture(text: string): CaptureParse {
  let start: TwilioCapture | null = null;
  const frames: TwilioCapture['frames'] = [];
  const dtmf: TwilioCapture['dtmf'] = [];
  let stopped = false;
  let skipped = 0;
  let lastTimestamp = 0;
  for (const row of text.split('\n')) {
    if (row.trim() === '') continue;
    const parsed = parseTwilioMessage(row);
    if (!parsed.ok) {
      skipped++;
      continue;
    }
    const e = parsed.event;
    switch (e.type) {
      case 'twilio.start':
        start ??= {
          callSid: e.callSid,
          accountSid: e.accountSid,
          streamSid: e.streamSid,
          customParameters: e.customParameters,
          frames,
          dtmf,
          stopped: false,
          skipped: 0,
        };
        break;
      case 'twilio.media':
        if (!Number.isFinite(e.timestampMs)) {
          skipped++;
          break;
        }
        frames.push({ timestampMs: e.timestampMs, payload: e.payload });
        lastTimestamp = e.timestampMs;
        break;
      case 'twilio.dtmf':
        dtmf.push({ digit: e.digit, atMs: lastTimestamp });
        break;
      case 'twilio.stop':
        stopped = true;
        break;
      default:
        break;
    }
  }
  if (start === null) return { ok: false, reason: 'no Twilio "start" message in the capture' };
  if (frames.length === 0) return { ok: false, reason: 'no "media" messages in the capture' };
  return { ok: true, capture: { ...start, frames, dtmf, stopped, skipped } };
}

/** The capture as the simulated phone's script: its 20 ms frame grid starts at media time 0. */
export interface PhoneScript {
  /** μ-law 8 kHz from media time 0, silence where the capture has no frame */
  callerAudio: Buffer;
  /** frame indexes within the capture that it does not have (Twilio did not send them): not sent */
  dropFrame: (index: number) => boolean;
  dtmf: { digit: string; atMs: number }[];
  /** media time just after the last captured frame and the linger */
  endMs: number;
}

/** Lays the capture's frames on the phone's 20 ms grid by their media timestamps; `lingerMs` of silence follow. */
export function phoneScript(capture: TwilioCapture, lingerMs = 0): PhoneScript {
  const present = new Set<number>();
  let lastIndex = 0;
  for (const f of capture.frames) {
    const index = Math.round(f.timestampMs / FRAME_MS);
    present.add(index);
    lastIndex = Math.max(lastIndex, index);
  }
  const audio = Buffer.alloc((lastIndex + 1) * FRAME_BYTES, 0xff);
  for (const f of capture.frames) {
    const offset = Math.round(f.timestampMs / FRAME_MS) * FRAME_BYTES;
    audio.set(f.payload.subarray(0, Math.min(f.payload.length, audio.length - offset)), offset);
  }
  return {
    callerAudio: audio,
    // inside the capture, a missing frame is one Twilio did not send; after it, silence for
    // `lingerMs`, then nothing (the capture is over; the phone hangs up once the model has it all)
    dropFrame: (index) =>
      (index <= lastIndex && !present.has(index)) || index > lastIndex + Math.round(lingerMs / FRAME_MS),
    dtmf: capture.dtmf,
    endMs: (lastIndex + 1 + Math.round(lingerMs / FRAME_MS)) * FRAME_MS,
  };
}

/** One caller turn as the model saw it. */
export interface ModelTurn {
  /** the model's id of the caller's item */
  itemId: string;
  /** on the model's input-audio clock (ms since the first audio the bridge appended) */
  speechStartMs: number;
  speechEndMs: number | null;
  /** the model's transcript of the turn (the emulator's is a placeholder like `[caller speech 1.9 s]`) */
  transcript: string | null;
  /** the response the turn produced, if any */
  response: { id: string; status: string | null; audioMs: number } | null;
  /** the bridge cleared the assistant's audio for this turn (a barge-in) */
  bargeIn: boolean;
}

/** Reads the caller turns out of the bridge's recording of a call (model_out VAD, transcripts, responses). */
export function turnsFromRecording(recording: Recording): ModelTurn[] {
  const bytesPerMs = modelAudioBytesPerMs(recording.header.audioMode);
  const turns: ModelTurn[] = [];
  const byItem = new Map<string, ModelTurn>();
  const byResponse = new Map<string, NonNullable<ModelTurn['response']>>();
  let lastClosed: ModelTurn | null = null;
  let lastStarted: ModelTurn | null = null;
  for (const l of recording.lines) {
    if (l.dir === 'twilio_out' && l.msg['event'] === 'clear' && lastStarted !== null) lastStarted.bargeIn = true;
    if (l.dir !== 'model_out') continue;
    const m = l.msg;
    const type = messageKind(l.dir, m);
    const itemId = typeof m['item_id'] === 'string' ? m['item_id'] : null;
    switch (type) {
      case 'input_audio_buffer.speech_started': {
        if (itemId === null) break;
        const turn: ModelTurn = {
          itemId,
          speechStartMs: Number(m['audio_start_ms'] ?? 0),
          speechEndMs: null,
          transcript: null,
          response: null,
          bargeIn: false,
        };
        turns.push(turn);
        byItem.set(itemId, turn);
        lastStarted = turn;
        break;
      }
      case 'input_audio_buffer.speech_stopped': {
        const turn = itemId === null ? undefined : byItem.get(itemId);
        if (turn !== undefined) {
          turn.speechEndMs = Number(m['audio_end_ms'] ?? 0);
          lastClosed = turn;
        }
        break;
      }
      case 'conversation.item.input_audio_transcription.completed': {
        const turn = itemId === null ? undefined : byItem.get(itemId);
        if (turn !== undefined && typeof m['transcript'] === 'string') turn.transcript = m['transcript'];
        break;
      }
      case 'response.created': {
        const id = (m['response'] as { id?: unknown } | undefined)?.id;
        if (typeof id !== 'string') break;
        const response = { id, status: null, audioMs: 0 };
        byResponse.set(id, response);
        // a response right after a closed turn answers it (server VAD with create_response)
        if (lastClosed !== null && lastClosed.response === null) lastClosed.response = response;
        break;
      }
      case 'response.output_audio.delta':
      case 'response.audio.delta': {
        const response = typeof m['response_id'] === 'string' ? byResponse.get(m['response_id']) : undefined;
        if (response !== undefined && typeof m['delta'] === 'string')
          response.audioMs += base64ByteLength(m['delta']) / bytesPerMs;
        break;
      }
      case 'response.done': {
        const r = m['response'] as { id?: unknown; status?: unknown } | undefined;
        const response = typeof r?.id === 'string' ? byResponse.get(r.id) : undefined;
        if (response !== undefined) response.status = typeof r?.status === 'string' ? r.status : null;
        break;
      }
      default:
        break;
    }
  }
  return turns;
}
