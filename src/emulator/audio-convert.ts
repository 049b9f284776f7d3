/**
 * The small amount of signal processing the emulator needs: μ-law ⇄ PCM16, 8 kHz ⇄ 24 kHz for
 * whole buffers (clips and echoed utterances), byte ⇄ sample views, and a test tone. Pure.
 *
 * The bridge's own streaming transcoder lives in `src/audio/` (another branch); the emulator
 * keeps these few whole-buffer helpers to itself so that the fake model does not share code
 * — and therefore bugs — with the component it is used to test.
 */

/** Audio encodings the emulator speaks (GA `audio/pcm` rate 24000 and `audio/pcmu`). */
export type EmulatorAudioFormat = 'pcm16' | 'pcmu';

/** Sample rate of each format, Hz. */
export function sampleRateOf(format: EmulatorAudioFormat): number {
  return format === 'pcm16' ? 24_000 : 8_000;
}

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

/** G.711 μ-law byte → linear sample (the ITU table; `0xFF` → 0). */
export function mulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

/** Linear sample → G.711 μ-law byte. */
export function linearToMulaw(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > MULAW_CLIP) s = MULAW_CLIP;
  s += MULAW_BIAS;
  let exponent = 7;
  for (let mask = 0x4000; exponent > 0 && (s & mask) === 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

const MULAW_TABLE = Int16Array.from({ length: 256 }, (_, b) => mulawToLinear(b));

/** μ-law bytes → linear samples (one per byte). */
export function decodeMulaw(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = MULAW_TABLE[bytes[i]!]!;
  return out;
}

/** Linear samples → μ-law bytes (one per sample). */
export function encodeMulaw(samples: Int16Array): Buffer {
  const out = Buffer.alloc(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = linearToMulaw(samples[i]!);
  return out;
}

/** Little-endian PCM16 bytes → samples (a trailing odd byte is ignored). */
export function pcm16ToSamples(bytes: Uint8Array): Int16Array {
  const n = bytes.length >> 1;
  const out = new Int16Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, n * 2);
  for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true);
  return out;
}

/** Samples → little-endian PCM16 bytes. */
export function samplesToPcm16(samples: Int16Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i]!, i * 2);
  return out;
}

/**
 * Low-pass FIR at 24 kHz for the 3× rate change: windowed sinc (Blackman), cut-off 3.6 kHz
 * — under the 4 kHz Nyquist limit of the 8 kHz side, so upsampling images and downsampling
 * aliases are attenuated by the window's ~58 dB side lobes. 63 taps keep the transition band
 * (≈ 3.6–4.4 kHz) narrow enough for telephone speech while costing nothing for clip-sized buffers.
 */
const FIR_TAPS = 63;
const FIR_CUTOFF_HZ = 3_600;
const FIR = ((): Float64Array => {
  const h = new Float64Array(FIR_TAPS);
  const fc = FIR_CUTOFF_HZ / 24_000;
  const mid = (FIR_TAPS - 1) / 2;
  let sum = 0;
  for (let i = 0; i < FIR_TAPS; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
    const w =
      0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (FIR_TAPS - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (FIR_TAPS - 1));
    h[i] = sinc * w;
    sum += h[i]!;
  }
  for (let i = 0; i < FIR_TAPS; i++) h[i]! /= sum;
  return h;
})();

function clip16(x: number): number {
  return Math.max(-32768, Math.min(32767, Math.round(x)));
}

/** 8 kHz → 24 kHz for a whole buffer (zero-stuff ×3, then the low-pass with gain 3). */
export function upsample8kTo24k(input: Int16Array): Int16Array {
  const n = input.length * 3;
  const out = new Int16Array(n);
  const mid = (FIR_TAPS - 1) / 2;
  for (let o = 0; o < n; o++) {
    let acc = 0;
    // Only taps that land on a non-zero (original) sample contribute.
    const first = o - mid;
    let k = (((3 - (first % 3)) % 3) + 3) % 3;
    for (; k < FIR_TAPS; k += 3) {
      const idx = first + k;
      if (idx < 0 || idx >= n) continue;
      acc += FIR[k]! * input[idx / 3]!;
    }
    out[o] = clip16(acc * 3);
  }
  return out;
}

/** 24 kHz → 8 kHz for a whole buffer (low-pass, keep every third sample). */
export function downsample24kTo8k(input: Int16Array): Int16Array {
  const n = Math.floor(input.length / 3);
  const out = new Int16Array(n);
  const mid = (FIR_TAPS - 1) / 2;
  for (let o = 0; o < n; o++) {
    const centre = o * 3;
    let acc = 0;
    for (let k = 0; k < FIR_TAPS; k++) {
      const idx = centre + k - mid;
      if (idx >= 0 && idx < input.length) acc += FIR[k]! * input[idx]!;
    }
    out[o] = clip16(acc);
  }
  return out;
}

/** Decodes bytes of `format` into samples at that format's rate. */
export function toSamples(bytes: Uint8Array, format: EmulatorAudioFormat): Int16Array {
  return format === 'pcm16' ? pcm16ToSamples(bytes) : decodeMulaw(bytes);
}

/** Samples at `rateHz` (8000 or 24000) → bytes of `format` (resampled when the rates differ). */
export function fromSamples(samples: Int16Array, rateHz: number, format: EmulatorAudioFormat): Buffer {
  const target = sampleRateOf(format);
  let s = samples;
  if (rateHz === 8_000 && target === 24_000) s = upsample8kTo24k(samples);
  else if (rateHz === 24_000 && target === 8_000) s = downsample24kTo8k(samples);
  return format === 'pcm16' ? samplesToPcm16(s) : encodeMulaw(s);
}

/**
 * A sine tone with 10 ms raised-cosine ramps (no clicks).
 * @param amplitude 0–1 of full scale
 */
export function tone(durationMs: number, frequencyHz: number, rateHz: number, amplitude: number): Int16Array {
  const n = Math.round((durationMs * rateHz) / 1000);
  const ramp = Math.min(Math.round(rateHz / 100), n >> 1);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let gain = amplitude * 32767;
    if (i < ramp) gain *= 0.5 - 0.5 * Math.cos((Math.PI * i) / ramp);
    else if (i >= n - ramp) gain *= 0.5 - 0.5 * Math.cos((Math.PI * (n - 1 - i)) / ramp);
    out[i] = Math.round(gain * Math.sin((2 * Math.PI * frequencyHz * i) / rateHz));
  }
  return out;
}
