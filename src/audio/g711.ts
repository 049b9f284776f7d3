/**
 * G.711 μ-law ⇄ PCM16, the encoding Twilio Media Streams send and expect
 * (PROTOCOLS §3.1: 8 kHz, mono, 1 byte per sample, silence = 0xFF). Pure.
 *
 * The codec itself is `alawmulaw` (the design-card dependency): both lookup tables below are
 * BUILT FROM it at module load, so this module cannot disagree with it. `alawmulaw` was
 * checked against sox, Sun g711.c and the ITU-T G.191 STL (a correct G.711); a table lookup
 * per sample is cheaper than a call per sample (figures: bench/README.md).
 */
import alawmulaw from 'alawmulaw';

/** μ-law code of +0; what Twilio plays as silence and what padding uses. */
export const MULAW_SILENCE = 0xff;

const INT16_MIN = -32768;
const INT16_MAX = 32767;

/** code → linear sample; 256 entries, 512 B. */
const DECODE_TABLE: Int16Array = buildDecodeTable();

/**
 * linear sample → code, indexed by `sample + 32768` over the whole int16 range; 64 KiB,
 * built once in about 1 ms. Clamping happens before the lookup, so the table never sees the
 * out-of-range inputs that `alawmulaw` gets wrong (it takes the sign from bit 15, so
 * 32768 encodes as 0 and 40000 as −25980, dsp.md §1).
 */
const ENCODE_TABLE: Uint8Array = buildEncodeTable();

function buildDecodeTable(): Int16Array {
  const table = new Int16Array(256);
  for (let code = 0; code < 256; code++) table[code] = alawmulaw.mulaw.decodeSample(code);
  return table;
}

function buildEncodeTable(): Uint8Array {
  const table = new Uint8Array(65536);
  // encodeSample returns ~(…), a negative number; the low byte is the code.
  for (let s = INT16_MIN; s <= INT16_MAX; s++) table[s - INT16_MIN] = alawmulaw.mulaw.encodeSample(s) & 0xff;
  return table;
}

/**
 * Decodes μ-law bytes to PCM16 samples (same rate, one sample per byte).
 *
 * @param mulaw - μ-law codes; every byte value is valid.
 * @param out - optional destination, reused on the hot path. Must hold at least
 *   `mulaw.length` samples (else `RangeError`); when longer, the result is
 *   `out.subarray(0, mulaw.length)`.
 * @returns `out` (or its prefix view), or a new `Int16Array` of `mulaw.length` samples.
 */
export function decodeMulaw(mulaw: Uint8Array, out?: Int16Array): Int16Array {
  const n = mulaw.length;
  const dest = destination(out, n, Int16Array);
  for (let i = 0; i < n; i++) dest[i] = DECODE_TABLE[mulaw[i]!]!;
  return dest;
}

/**
 * Encodes PCM samples to μ-law bytes (same rate, one byte per sample).
 *
 * Every sample is first rounded to the nearest integer (`Math.round`, halves up) and clamped
 * to [−32768, 32767], so float resampler output with overshoot encodes as full scale instead
 * of wrapping. NaN encodes as silence (+0). Int16Array input skips the rounding.
 *
 * @param pcm - linear samples on the int16 scale (not −1…1 floats).
 * @param out - optional destination; same contract as {@link decodeMulaw}'s `out`.
 * @returns `out` (or its prefix view), or a new `Uint8Array` of `pcm.length` codes.
 */
export function encodeMulaw(pcm: Int16Array | Float32Array | Float64Array, out?: Uint8Array): Uint8Array {
  const n = pcm.length;
  const dest = destination(out, n, Uint8Array);
  if (pcm instanceof Int16Array) {
    for (let i = 0; i < n; i++) dest[i] = ENCODE_TABLE[pcm[i]! + 32768]!;
    return dest;
  }
  for (let i = 0; i < n; i++) {
    let s = Math.round(pcm[i]!);
    // NaN fails both comparisons and would index the table at NaN; map it to +0.
    if (s > INT16_MAX) s = INT16_MAX;
    else if (s < INT16_MIN) s = INT16_MIN;
    else if (s !== s) s = 0;
    dest[i] = ENCODE_TABLE[s + 32768]!;
  }
  return dest;
}

function destination<T extends Int16Array | Uint8Array>(
  out: T | undefined,
  n: number,
  Ctor: new (length: number) => T,
): T {
  if (out === undefined) return new Ctor(n);
  if (out.length < n) throw new RangeError(`out holds ${out.length} samples, need ${n}`);
  return out.length === n ? out : (out.subarray(0, n) as T);
}
