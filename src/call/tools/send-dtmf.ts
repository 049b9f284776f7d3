/**
 * `send_dtmf`: presses keys on the far end's phone — DTMF tones played in-band, as μ-law
 * audio in the outbound stream after whatever the assistant is saying. Useful for finding a
 * way through a phone menu on an outbound call. A TwiML `<Play digits>` update would end the
 * media stream (Twilio's live-call update replaces the call's TwiML), so the keys must be
 * audio. Digits `0`–`9`, `*`, `#`; `w` waits half a second, as in TwiML's `digits`.
 *
 * Each key is the sum of one low-group and one high-group sine (ITU-T Q.23), 100 ms of tone
 * then 100 ms of silence: Q.24 receivers must accept tones and pauses of 40 ms or more, and
 * 100 ms is what phones typically send. The model is not asked to speak after the keys: on
 * a phone menu it should listen for what comes next.
 */
import { encodeMulaw } from '../../audio/g711.js';
import { toolError, type ToolEntry } from './tool.js';

const SAMPLES_PER_MS = 8;
const TONE_MS = 100;
const GAP_MS = 100;
/** `w`, as in TwiML's `<Play digits>`: half a second. */
const PAUSE_MS = 500;
/** The most keys one call plays (a card number is 19); at most 16 s of audio with every key a pause. */
const MAX_KEYS = 32;

/** ITU-T Q.23: the row (low group) and column (high group) frequency of each key, Hz. */
const KEY_HZ: Readonly<Record<string, readonly [number, number]>> = {
  '1': [697, 1209],
  '2': [697, 1336],
  '3': [697, 1477],
  '4': [770, 1209],
  '5': [770, 1336],
  '6': [770, 1477],
  '7': [852, 1209],
  '8': [852, 1336],
  '9': [852, 1477],
  '*': [941, 1209],
  '0': [941, 1336],
  '#': [941, 1477],
};
/**
 * Peak amplitudes on the 16-bit scale, where a μ-law 0 dBm0 sine peaks at about 22 700: the
 * low group at ≈ −9 dBm0, the high group 2 dB above it (the usual pre-emphasis for the
 * line's loss at higher frequencies), inside Q.24's acceptance range; the sum stays far from
 * clipping.
 */
const LOW_AMPLITUDE = 8_000;
const HIGH_AMPLITUDE = 10_000;

/** μ-law 8 kHz audio that presses `keys` (each `0-9*#`, or `w` for a pause). */
export function dtmfTones(keys: string): Uint8Array {
  const pcm: number[] = [];
  for (const key of keys) {
    const hz = KEY_HZ[key];
    if (hz === undefined) {
      for (let i = 0; i < PAUSE_MS * SAMPLES_PER_MS; i++) pcm.push(0);
      continue;
    }
    const [low, high] = hz;
    for (let i = 0; i < TONE_MS * SAMPLES_PER_MS; i++) {
      const t = i / (SAMPLES_PER_MS * 1_000);
      pcm.push(LOW_AMPLITUDE * Math.sin(2 * Math.PI * low * t) + HIGH_AMPLITUDE * Math.sin(2 * Math.PI * high * t));
    }
    for (let i = 0; i < GAP_MS * SAMPLES_PER_MS; i++) pcm.push(0);
  }
  return encodeMulaw(Float64Array.from(pcm));
}

export const sendDtmf: ToolEntry = {
  declaration: {
    name: 'send_dtmf',
    description:
      'Press keys on the phone keypad: plays touch tones to the other side of the call, for example to choose ' +
      'an option in an automated phone menu. After pressing, stay silent and listen for what the menu says next.',
    parameters: {
      type: 'object',
      properties: {
        digits: {
          type: 'string',
          description: `The keys to press, in order: 0-9, * and #; w waits half a second. At most ${MAX_KEYS}.`,
          pattern: `^[0-9*#wW]{1,${MAX_KEYS}}$`,
        },
      },
      required: ['digits'],
      additionalProperties: false,
    },
  },
  plan: (args) => {
    const digits = typeof args?.['digits'] === 'string' ? args['digits'].toLowerCase() : '';
    if (!/^[0-9*#w]+$/.test(digits) || digits.length > MAX_KEYS) {
      const error = `digits must be 1 to ${MAX_KEYS} of 0-9, * and #, with w for a half-second pause`;
      return { kind: 'output', output: toolError(error), respond: true };
    }
    const output = JSON.stringify({ ok: true, digits, note: 'the keys are being pressed; listen for the answer' });
    return { kind: 'output', output, respond: false, play: dtmfTones(digits) };
  },
};
