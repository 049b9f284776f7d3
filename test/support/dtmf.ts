/**
 * A DTMF receiver for tests: Goertzel filters at the eight ITU-T Q.23 frequencies over 20 ms
 * blocks of μ-law 8 kHz audio (one Twilio frame each), so a test can check which keys a phone
 * actually received, independently of how the bridge made the tones.
 */
import { decodeMulaw } from '../../src/audio/g711.js';

const RATE_HZ = 8_000;
const BLOCK = 160;
const ROWS = [697, 770, 852, 941];
const COLS = [1209, 1336, 1477, 1633];
const KEYPAD = ['123A', '456B', '789C', '*0#D'];

/** Power of `freq` in `x[start, start + n)`, by the Goertzel recurrence. */
function goertzel(x: Int16Array, start: number, n: number, freqHz: number): number {
  const k = 2 * Math.cos((2 * Math.PI * freqHz) / RATE_HZ);
  let s1 = 0;
  let s2 = 0;
  for (let i = start; i < start + n; i++) {
    const s = x[i]! + k * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return s1 * s1 + s2 * s2 - k * s1 * s2;
}

/** The key a block holds, or null: one row and one column clearly strongest and most of the block's energy. */
function blockKey(x: Int16Array, start: number): string | null {
  let energy = 0;
  for (let i = start; i < start + BLOCK; i++) energy += x[i]! * x[i]!;
  if (energy / BLOCK < 100 * 100) return null; // quieter than −50 dBFS-ish: silence
  const strongest = (freqs: number[]) => {
    const p = freqs.map((f) => goertzel(x, start, BLOCK, f));
    const best = p.indexOf(Math.max(...p));
    const second = Math.max(...p.filter((_v, i) => i !== best));
    return { best, power: p[best]!, clear: p[best]! > 10 * second };
  };
  const row = strongest(ROWS);
  const col = strongest(COLS);
  // a sine of amplitude A over N samples gives Goertzel power (A·N/2)², energy N·A²/2
  const tonal = (row.power + col.power) / ((energy * BLOCK) / 2);
  return row.clear && col.clear && tonal > 0.8 ? KEYPAD[row.best]![col.best]! : null;
}

export interface DtmfKey {
  key: string;
  startMs: number;
  durationMs: number;
}

/**
 * Decodes μ-law audio: the keys, in order, with `w` for each further 500 ms of silence
 * between two keys beyond their usual gap, and each tone's timing.
 */
export function decodeDtmf(mulaw: Uint8Array): { keys: string; tones: DtmfKey[] } {
  const x = decodeMulaw(mulaw);
  const tones: DtmfKey[] = [];
  for (let start = 0; start + BLOCK <= x.length; start += BLOCK) {
    const key = blockKey(x, start);
    if (key === null) continue;
    const atMs = start / 8;
    const last = tones.at(-1);
    if (last?.key === key && last.startMs + last.durationMs === atMs) last.durationMs += 20;
    else tones.push({ key, startMs: atMs, durationMs: 20 });
  }
  let keys = '';
  tones.forEach((t, i) => {
    const previous = tones[i - 1];
    const silenceMs = previous === undefined ? 0 : t.startMs - (previous.startMs + previous.durationMs);
    keys += 'w'.repeat(Math.max(0, Math.round((silenceMs - 100) / 500))) + t.key;
  });
  return { keys, tones };
}
