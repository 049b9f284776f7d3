/**
 * The audio the load bench sends, built once per generator: the caller's 20 ms frames as
 * ready base64 payloads, and one assistant answer per model format, cut into deltas like the
 * real API's (uneven sizes; in PCM16 every other boundary splits a sample, as real deltas
 * do), with the number of Twilio frames the bridge derives from each delta counted by the
 * product's own transcoder.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { TWILIO_FRAME_BYTES } from '../../src/audio/framer.js';
import { createCallerToModel, createModelToCaller } from '../../src/audio/transcoder.js';
import { parseWav } from '../../src/audio/wav.js';
import { modelAudioBytesPerMs, type ModelAudioFormat } from '../../src/protocol/realtime.js';
import { PROJECT_ROOT } from '../../src/util/project-files.js';

const CALLER_WAV = path.join(PROJECT_ROOT, 'test/fixtures/audio/call_two_questions.ulaw8k.wav');
const ASSISTANT_WAV = path.join(PROJECT_ROOT, 'assets/audio/long.ulaw8k.wav');

/** Delta durations (ms) cycled through an answer: 40–400 ms, mean ~190 ms. */
const DELTA_PATTERN_MS = [120, 240, 80, 400, 200, 160, 300, 100, 40, 260, 180, 220];

const ANSWER_TRANSCRIPT =
  'Our offices are open from eight in the morning until six in the evening on weekdays, and until noon on Saturdays.';

export interface AnswerMaterial {
  format: ModelAudioFormat;
  /** base64 of each delta, in order */
  deltasB64: string[];
  /** duration of each delta, ms (for pacing) */
  deltaMs: number[];
  /** Twilio frames the bridge can send once delta i has arrived (not cumulative) */
  framesPerDelta: number[];
  /** frames the bridge sends when the item's audio ends (transcoder tail, padded) */
  tailFrames: number;
  /** transcript piece sent with each delta */
  transcriptDeltas: string[];
  transcript: string;
  durationMs: number;
}

export interface Material {
  /** base64 μ-law payload of each caller frame (the clip, looped by the phones) */
  callerFramesB64: string[];
  answers: Record<ModelAudioFormat, AnswerMaterial>;
}

function mulawOf(file: string): Buffer {
  const wav = parseWav(readFileSync(file));
  if (!wav.ok || wav.value.encoding !== 'mulaw' || wav.value.sampleRateHz !== 8000)
    throw new Error(`${file}: not μ-law 8 kHz`);
  return wav.value.data;
}

export function buildMaterial(answerMs: number): Material {
  const caller = mulawOf(CALLER_WAV);
  const callerFramesB64: string[] = [];
  for (let offset = 0; offset + TWILIO_FRAME_BYTES <= caller.length; offset += TWILIO_FRAME_BYTES) {
    callerFramesB64.push(caller.subarray(offset, offset + TWILIO_FRAME_BYTES).toString('base64'));
  }
  const assistant = mulawOf(ASSISTANT_WAV);
  const wantBytes = Math.round(answerMs / 20) * TWILIO_FRAME_BYTES;
  if (wantBytes > assistant.length) throw new Error(`answer of ${answerMs} ms is longer than the clip`);
  const mulaw = assistant.subarray(0, wantBytes);
  const pcm24k = createCallerToModel('pcm16').push(mulaw);
  return {
    callerFramesB64,
    answers: { pcmu: cutAnswer('pcmu', Buffer.from(mulaw)), pcm16: cutAnswer('pcm16', Buffer.from(pcm24k)) },
  };
}

function cutAnswer(format: ModelAudioFormat, audio: Buffer): AnswerMaterial {
  const bytesPerMs = modelAudioBytesPerMs(format);
  const deltas: Buffer[] = [];
  const deltaMs: number[] = [];
  let offset = 0;
  for (let i = 0; offset < audio.length; i++) {
    const ms = DELTA_PATTERN_MS[i % DELTA_PATTERN_MS.length]!;
    // PCM16: every other delta ends one byte early, so the next starts mid-sample.
    const skew = format === 'pcm16' && i % 2 === 0 ? -1 : 0;
    const end = Math.min(audio.length, offset + ms * bytesPerMs + skew);
    deltas.push(audio.subarray(offset, end));
    deltaMs.push((end - offset) / bytesPerMs);
    offset = end;
  }
  // Count the frames exactly as the bridge's transcoder cuts them.
  const transcoder = createModelToCaller(format);
  const framesPerDelta = deltas.map((d) => transcoder.push(d).length);
  const tailFrames = transcoder.flush().length;
  const words = ANSWER_TRANSCRIPT.split(' ');
  const per = Math.ceil(words.length / deltas.length);
  const transcriptDeltas = deltas.map((_d, i) => {
    const piece = words.slice(i * per, (i + 1) * per).join(' ');
    return piece === '' ? '' : `${i === 0 ? '' : ' '}${piece}`;
  });
  return {
    format,
    deltasB64: deltas.map((d) => d.toString('base64')),
    deltaMs,
    framesPerDelta,
    tailFrames,
    transcriptDeltas,
    transcript: transcriptDeltas.join(''),
    durationMs: audio.length / bytesPerMs,
  };
}
