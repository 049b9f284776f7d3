/**
 * What the caller's side of a call can measure on its own (`npm run call`'s summary): when
 * the caller spoke (an energy detector on the caller's own audio, like a VAD with a
 * hangover), how long after each end of turn the first assistant audio arrived, and how
 * long a barge-in took to silence the assistant. Pure.
 */
import { decodeMulaw } from '../audio/g711.js';

const FRAME_SAMPLES = 160;
const FRAME_MS = 20;

export interface SpeechSegment {
  startMs: number;
  endMs: number;
}

export interface SpeechDetectorOptions {
  /** a 20 ms frame louder than this is speech (dBFS); −40 sits well above line noise and below quiet speech */
  thresholdDbfs?: number;
  /** a turn ends after this much quiet (the server VAD's silence_duration default) */
  minSilenceMs?: number;
  /** shorter bursts are clicks, not speech */
  minSpeechMs?: number;
}

/** Speech segments of μ-law 8 kHz audio, ms from its start. */
export function speechSegments(mulaw8k: Uint8Array, options: SpeechDetectorOptions = {}): SpeechSegment[] {
  const threshold = options.thresholdDbfs ?? -40;
  const minSilence = options.minSilenceMs ?? 500;
  const minSpeech = options.minSpeechMs ?? 100;
  const pcm = decodeMulaw(mulaw8k);
  const segments: SpeechSegment[] = [];
  let current: SpeechSegment | null = null;
  for (let f = 0; f * FRAME_SAMPLES < pcm.length; f++) {
    let energy = 0;
    const from = f * FRAME_SAMPLES;
    const to = Math.min(pcm.length, from + FRAME_SAMPLES);
    for (let i = from; i < to; i++) energy += pcm[i]! * pcm[i]!;
    const dbfs = 10 * Math.log10(energy / (to - from) / (32768 * 32768) + 1e-12);
    const t = f * FRAME_MS;
    if (dbfs > threshold) {
      if (current !== null && t - current.endMs <= minSilence) current.endMs = t + FRAME_MS;
      else {
        if (current !== null && current.endMs - current.startMs >= minSpeech) segments.push(current);
        current = { startMs: t, endMs: t + FRAME_MS };
      }
    }
  }
  if (current !== null && current.endMs - current.startMs >= minSpeech) segments.push(current);
  return segments;
}

/** Time from each end of the caller's turn to the first assistant frame that arrived after it. */
export function responseLatencies(
  callerSegments: readonly SpeechSegment[],
  frameArrivalsMs: readonly number[],
): { endOfTurnMs: number; latencyMs: number | null }[] {
  return callerSegments.map((s) => {
    const next = frameArrivalsMs.find((t) => t >= s.endMs);
    return { endOfTurnMs: s.endMs, latencyMs: next === undefined ? null : next - s.endMs };
  });
}

/**
 * For each `clear` the phone received: when the caller had started talking (the latest
 * speech onset before it) and how long until the assistant went quiet.
 */
export function bargeInStops(
  callerSegments: readonly SpeechSegment[],
  clearsAtMs: readonly number[],
): { speechAtMs: number | null; clearAtMs: number; stopMs: number | null }[] {
  return clearsAtMs.map((clearAt) => {
    const onset = [...callerSegments].reverse().find((s) => s.startMs <= clearAt);
    return {
      speechAtMs: onset?.startMs ?? null,
      clearAtMs: clearAt,
      stopMs: onset === undefined ? null : clearAt - onset.startMs,
    };
  });
}
