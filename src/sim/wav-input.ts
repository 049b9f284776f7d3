/**
 * Caller audio for the simulated phone from whatever WAV a user has at hand (`npm run call
 * -- --wav …`): the RIFF/WAVE files sox, espeak-ng, Audacity or a phone recorder write —
 * PCM 8/16/24/32-bit, 32/64-bit float, G.711 μ-law or A-law, any rate, any number of
 * channels (WAVE_FORMAT_EXTENSIBLE too). It becomes what Twilio sends: μ-law 8 kHz mono.
 *
 * Channels are averaged; other rates are resampled with a windowed-sinc low-pass (Blackman,
 * 32 zero crossings at the lower of the two rates), which keeps the 300–3400 Hz telephone
 * band clean. Pure: bytes in, bytes out.
 */
import alawmulaw from 'alawmulaw';

import { decodeMulaw, encodeMulaw } from '../audio/g711.js';
import { readWavChunks } from '../audio/wav.js';

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;

/** Twilio's rate. */
const TARGET_RATE_HZ = 8_000;
/** Zero crossings of the resampling kernel on each side (at the lower rate). */
const SINC_HALF_WIDTH = 16;

export interface CallerWav {
  /** μ-law 8 kHz mono, what the phone streams */
  mulaw8k: Buffer;
  durationMs: number;
  /** what the file was, for the user ("PCM 16-bit 44100 Hz stereo") */
  source: string;
}

export type CallerWavResult = { ok: true; value: CallerWav } | { ok: false; reason: string };

const FORMAT_NAMES: Record<number, string> = {
  [FORMAT_PCM]: 'PCM',
  [FORMAT_FLOAT]: 'float',
  [FORMAT_ALAW]: 'A-law',
  [FORMAT_MULAW]: 'μ-law',
};

/** Samples as floats in [-1, 1], interleaved. */
function decodeSamples(data: Buffer, format: number, bits: number): Float64Array | string {
  if (format === FORMAT_MULAW && bits === 8) {
    const pcm = decodeMulaw(data);
    return Float64Array.from(pcm, (s) => s / 32768);
  }
  if (format === FORMAT_ALAW && bits === 8) {
    const pcm = alawmulaw.alaw.decode(new Uint8Array(data.buffer, data.byteOffset, data.length));
    return Float64Array.from(pcm, (s) => s / 32768);
  }
  if (format === FORMAT_PCM) {
    const bytes = bits / 8;
    if (![1, 2, 3, 4].includes(bytes)) return `PCM with ${bits} bits per sample is not supported`;
    const n = Math.floor(data.length / bytes);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const o = i * bytes;
      if (bytes === 1)
        out[i] = (data[o]! - 128) / 128; // 8-bit WAV is unsigned
      else if (bytes === 2) out[i] = data.readInt16LE(o) / 32768;
      else if (bytes === 3) out[i] = data.readIntLE(o, 3) / 8388608;
      else out[i] = data.readInt32LE(o) / 2147483648;
    }
    return out;
  }
  if (format === FORMAT_FLOAT && (bits === 32 || bits === 64)) {
    const bytes = bits / 8;
    const n = Math.floor(data.length / bytes);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = bits === 32 ? data.readFloatLE(i * bytes) : data.readDoubleLE(i * bytes);
    return out;
  }
  return `${FORMAT_NAMES[format] ?? `format ${format}`} with ${bits} bits per sample is not supported`;
}

/** Averages interleaved channels. */
function mixDown(samples: Float64Array, channels: number): Float64Array {
  if (channels === 1) return samples;
  const n = Math.floor(samples.length / channels);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[i * channels + c]!;
    out[i] = sum / channels;
  }
  return out;
}

/** Band-limited resampling by direct evaluation of a Blackman-windowed sinc (rates need not be related). */
export function resample(samples: Float64Array, fromHz: number, toHz: number): Float64Array {
  if (fromHz === toHz) return samples;
  const ratio = fromHz / toHz;
  // cut at 95 % of the lower Nyquist frequency, in input samples
  const cutoff = Math.min(1, toHz / fromHz) * 0.95;
  const halfWidth = Math.ceil(SINC_HALF_WIDTH / cutoff);
  const n = Math.floor(samples.length / ratio);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = i * ratio;
    const center = Math.floor(x);
    let acc = 0;
    for (let k = center - halfWidth + 1; k <= center + halfWidth; k++) {
      if (k < 0 || k >= samples.length) continue;
      const d = x - k;
      const w = 0.42 + 0.5 * Math.cos((Math.PI * d) / halfWidth) + 0.08 * Math.cos((2 * Math.PI * d) / halfWidth);
      const arg = Math.PI * cutoff * d;
      const sinc = arg === 0 ? 1 : Math.sin(arg) / arg;
      acc += samples[k]! * cutoff * sinc * w;
    }
    out[i] = acc;
  }
  return out;
}

/** Reads a caller WAV and converts it to what Twilio sends (see the file header). Never throws. */
export function readCallerWav(file: Uint8Array): CallerWavResult {
  const chunks = readWavChunks(file);
  if (!chunks.ok) return chunks;
  const { format, channels, rateHz: rate, bits, rest, declaredBytes } = chunks.value;
  if (channels < 1 || rate < 1_000 || rate > 384_000)
    return { ok: false, reason: `${channels} channels at ${rate} Hz is not a usable audio format` };
  // A data size of 0 or past the end (a stream that was never finalised) means "to the end".
  const data = declaredBytes === 0 || declaredBytes > rest.length ? rest : rest.subarray(0, declaredBytes);
  const decoded = decodeSamples(data, format, bits);
  if (typeof decoded === 'string') return { ok: false, reason: decoded };
  const mono = mixDown(decoded, channels);
  const at8k =
    format === FORMAT_MULAW && rate === TARGET_RATE_HZ && channels === 1 ? null : resample(mono, rate, TARGET_RATE_HZ);
  const mulaw8k =
    at8k === null
      ? Buffer.from(data)
      : Buffer.from(
          encodeMulaw(Int16Array.from(at8k, (s) => Math.max(-32768, Math.min(32767, Math.round(s * 32768))))),
        );
  const layout = channels === 1 ? 'mono' : channels === 2 ? 'stereo' : `${channels} channels`;
  const source = `${FORMAT_NAMES[format] ?? `format ${format}`} ${bits}-bit ${rate} Hz ${layout}`;
  return { ok: true, value: { mulaw8k, durationMs: mulaw8k.length / 8, source } };
}
