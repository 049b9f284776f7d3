/**
 * What the Twilio simulator's callee says (μ-law 8 kHz, from the moment the call is answered):
 * a *person* ("hello?", then a question after the greeting), or an answering *machine* (a long
 * recorded greeting, a pause, a beep, then the silence it records). Speech is speech-shaped
 * tones (`audio/signals.ts`), loud enough for any energy VAD; a person may instead speak a WAV.
 */
import { encodeMulaw, MULAW_SILENCE } from '../audio/g711.js';
import { renderTones, sineAmplitude, speechShapedTones, toInt16Samples } from '../audio/signals.js';

const RATE_HZ = 8_000;
const SAMPLES_PER_MS = RATE_HZ / 1000;

/** A callee's audio and the moments a test measures against (ms from the answer). */
export interface CalleeAudio {
  mulaw8k: Buffer;
  /** the end of the callee's first utterance ("hello?") */
  firstWordsEndMs: number;
  /** a machine's beep ends here (null for a person) */
  beepEndMs: number | null;
}

/** When the person speaks (ms from the answer): a short "hello?", then a question after the greeting. */
export const PERSON_SCRIPT = { helloAtMs: 300, helloMs: 600, questionAtMs: 5_000, questionMs: 1_400 } as const;

/** The machine: a recorded greeting, a pause, a 1 kHz beep (the usual voicemail tone), then silence. */
export const MACHINE_SCRIPT = { greetingAtMs: 300, greetingMs: 3_600, pauseMs: 300, beepMs: 500 } as const;

/** A buffer of `ms` of μ-law silence. */
function silence(ms: number): Buffer {
  return Buffer.alloc(ms * SAMPLES_PER_MS, MULAW_SILENCE);
}

/** `ms` of speech-shaped sound (seeded: the same seed gives the same "words"). */
function speech(ms: number, seed: number): Buffer {
  const samples = renderTones(speechShapedTones(seed), RATE_HZ, ms * SAMPLES_PER_MS);
  return Buffer.from(encodeMulaw(toInt16Samples(samples)));
}

function tone(ms: number, frequencyHz: number, levelDbfs: number): Buffer {
  const amplitude = sineAmplitude(levelDbfs);
  const samples = new Float64Array(ms * SAMPLES_PER_MS);
  for (let i = 0; i < samples.length; i++) samples[i] = amplitude * Math.sin((2 * Math.PI * frequencyHz * i) / RATE_HZ);
  return Buffer.from(encodeMulaw(toInt16Samples(samples)));
}

/** A person: "hello?" at once, then a question once the assistant has had time to greet. */
export function personAudio(): CalleeAudio {
  const p = PERSON_SCRIPT;
  const mulaw8k = Buffer.concat([
    silence(p.helloAtMs),
    speech(p.helloMs, 11),
    silence(p.questionAtMs - p.helloAtMs - p.helloMs),
    speech(p.questionMs, 12),
  ]);
  return { mulaw8k, firstWordsEndMs: p.helloAtMs + p.helloMs, beepEndMs: null };
}

/** A person speaking a recording (μ-law 8 kHz) that starts at the answer. */
export function personFromRecording(mulaw8k: Buffer): CalleeAudio {
  return { mulaw8k, firstWordsEndMs: 0, beepEndMs: null };
}

/**
 * An answering machine. Its greeting has short gaps between phrases (150 ms, shorter than a
 * VAD's end-of-turn silence) the way recorded greetings do.
 */
export function machineAudio(): CalleeAudio {
  const m = MACHINE_SCRIPT;
  const phrases: Buffer[] = [];
  for (let at = 0, seed = 21; at < m.greetingMs; seed++) {
    const ms = Math.min(1_050, m.greetingMs - at);
    phrases.push(speech(ms, seed));
    at += ms;
    if (at < m.greetingMs) {
      phrases.push(silence(150));
      at += 150;
    }
  }
  const greeting = Buffer.concat(phrases);
  const greetingMs = greeting.length / SAMPLES_PER_MS;
  const mulaw8k = Buffer.concat([silence(m.greetingAtMs), greeting, silence(m.pauseMs), tone(m.beepMs, 1_000, -10)]);
  const beepEndMs = m.greetingAtMs + greetingMs + m.pauseMs + m.beepMs;
  return { mulaw8k, firstWordsEndMs: m.greetingAtMs + greetingMs, beepEndMs };
}
