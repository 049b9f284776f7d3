/**
 * The two audio directions of a call, composed from the codec, the resamplers and the
 * framer. Pure: bytes in, bytes out; one instance per direction per call.
 *
 * | model format | caller → model                          | model → caller                                  |
 * |--------------|-----------------------------------------|-------------------------------------------------|
 * | `pcm16`      | μ-law 8 kHz → PCM16 LE 24 kHz           | PCM16 LE 24 kHz (any split) → 160-byte μ-law    |
 * | `pcmu`       | passthrough (same bytes, no copy)       | re-framing only                                  |
 *
 * Hot path (50 calls/s per direction per call): decode, resample and encode run in reused
 * scratch arrays; the only allocations are the returned Buffers (from Node's pool) and the
 * typed-array views over them. No closures per sample.
 */
import type { ModelAudioFormat } from '../protocol/realtime.js';
import { decodeMulaw, encodeMulaw } from './g711.js';
import type { FirKernels } from './fir-kernels.js';
import { MulawFramer } from './framer.js';
import { Downsampler24kTo8k, RESAMPLER_KERNELS, Upsampler8kTo24k } from './resampler.js';

/** Model-side audio format (defined in protocol/realtime.ts; re-exported for audio users). */
export type { ModelAudioFormat };

/** Caller audio (Twilio μ-law 8 kHz) → what `input_audio_buffer.append` carries. */
export interface CallerToModel {
  /**
   * Converts the next chunk (any length). `pcm16`: returns exactly 6 bytes (3 samples) per
   * input byte, PCM16 LE 24 kHz, in a fresh Buffer. `pcmu`: returns the same bytes as a
   * Buffer view of the same memory (no copy).
   */
  push(mulaw8k: Uint8Array): Buffer;
  /** Emits the resampler tail (`pcm16`: 138 bytes = 69 samples; `pcmu`: empty) and resets. */
  flush(): Buffer;
  /** Forgets the filter history. */
  reset(): void;
}

/** Model audio (`response.output_audio.delta` bytes) → Twilio media frames. */
export interface ModelToCaller {
  /**
   * Takes the next delta, of any byte length: `pcm16` deltas may split a sample (odd byte
   * counts); the odd byte is carried to the next push. Returns the whole 160-byte μ-law
   * frames completed so far (possibly none), each a fresh Buffer.
   */
  push(modelBytes: Uint8Array): Buffer[];
  /**
   * End of a response: emits the resampler tail and the last partial frame padded with μ-law
   * silence (0xFF), then resets. A dangling odd byte (half a sample) is dropped.
   */
  flush(): Buffer[];
  /** Drops everything held: partial frame, filter history, odd byte (after a Twilio `clear`). */
  reset(): void;
  /** μ-law bytes held back in the partial frame (0–159), for playback accounting. */
  readonly pendingBytes: number;
}

/** True on little-endian hosts (all Node targets in practice); PCM16 on the wire is LE. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Creates the caller → model direction for the session's model audio format.
 * @param kernels - the resampler's dot products (default: this process's choice; tests force one)
 */
export function createCallerToModel(format: ModelAudioFormat, kernels = RESAMPLER_KERNELS): CallerToModel {
  switch (format) {
    case 'pcm16':
      return new CallerToModelPcm16(kernels);
    case 'pcmu':
      return CALLER_TO_MODEL_PASSTHROUGH;
    default:
      return unknownFormat(format);
  }
}

/**
 * Creates the model → caller direction for the session's model audio format.
 * @param kernels - the resampler's dot products (default: this process's choice; tests force one)
 */
export function createModelToCaller(format: ModelAudioFormat, kernels = RESAMPLER_KERNELS): ModelToCaller {
  switch (format) {
    case 'pcm16':
      return new ModelToCallerPcm16(kernels);
    case 'pcmu':
      return new ModelToCallerPcmu();
    default:
      return unknownFormat(format);
  }
}

function unknownFormat(format: never): never {
  throw new TypeError(`unknown model audio format: ${String(format)}`);
}

/** Stateless, so one shared instance serves every call. */
const CALLER_TO_MODEL_PASSTHROUGH: CallerToModel = Object.freeze({
  push(mulaw8k: Uint8Array): Buffer {
    return Buffer.isBuffer(mulaw8k) ? mulaw8k : Buffer.from(mulaw8k.buffer, mulaw8k.byteOffset, mulaw8k.byteLength);
  },
  flush(): Buffer {
    return Buffer.alloc(0);
  },
  reset(): void {},
});

class CallerToModelPcm16 implements CallerToModel {
  private readonly upsampler: Upsampler8kTo24k;
  private pcm8k = new Int16Array(160);
  private pcm24k = new Int16Array(480);

  constructor(kernels: FirKernels) {
    this.upsampler = new Upsampler8kTo24k(kernels);
  }

  push(mulaw8k: Uint8Array): Buffer {
    const n = mulaw8k.length;
    if (this.pcm8k.length < n) this.pcm8k = new Int16Array(n);
    const pcm8k = decodeMulaw(mulaw8k, this.pcm8k);
    const out = Buffer.allocUnsafe(n * 6);
    if (HOST_LITTLE_ENDIAN && out.byteOffset % 2 === 0) {
      // write the samples straight into the returned Buffer
      this.upsampler.process(pcm8k, new Int16Array(out.buffer, out.byteOffset, n * 3));
    } else {
      if (this.pcm24k.length < n * 3) this.pcm24k = new Int16Array(n * 3);
      writePcm16Le(this.upsampler.process(pcm8k, this.pcm24k), out);
    }
    return out;
  }

  flush(): Buffer {
    return pcm16ToBytes(this.upsampler.flush());
  }

  reset(): void {
    this.upsampler.reset();
  }
}

class ModelToCallerPcm16 implements ModelToCaller {
  private readonly downsampler: Downsampler24kTo8k;
  private readonly framer = new MulawFramer();
  /** the first byte of a sample split across deltas, or −1 */
  private oddByte = -1;
  private pcm24k = new Int16Array(4800);
  private pcm8k = new Int16Array(1600);
  private mulaw8k = new Uint8Array(1600);

  constructor(kernels: FirKernels) {
    this.downsampler = new Downsampler24kTo8k(kernels);
  }

  get pendingBytes(): number {
    return this.framer.pendingBytes;
  }

  push(modelBytes: Uint8Array): Buffer[] {
    const n = modelBytes.length;
    if (n === 0) return [];
    const maxSamples = (n >> 1) + 1;
    if (this.pcm24k.length < maxSamples) this.pcm24k = new Int16Array(maxSamples);
    const pcm = this.pcm24k;
    let i = 0;
    let s = 0;
    if (this.oddByte >= 0) {
      pcm[s++] = (((modelBytes[0]! << 8) | this.oddByte) << 16) >> 16;
      i = 1;
      this.oddByte = -1;
    }
    for (; i + 1 < n; i += 2) pcm[s++] = ((modelBytes[i]! | (modelBytes[i + 1]! << 8)) << 16) >> 16;
    if (i < n) this.oddByte = modelBytes[i]!;
    return this.resampleAndFrame(pcm.subarray(0, s));
  }

  flush(): Buffer[] {
    const frames = this.encodeAndFrame(this.downsampler.flush());
    for (const frame of this.framer.flush()) frames.push(frame);
    this.oddByte = -1;
    return frames;
  }

  reset(): void {
    this.downsampler.reset();
    this.framer.reset();
    this.oddByte = -1;
  }

  private resampleAndFrame(pcm24k: Int16Array): Buffer[] {
    const count = this.downsampler.outputLength(pcm24k.length);
    if (this.pcm8k.length < count) this.pcm8k = new Int16Array(count);
    return this.encodeAndFrame(this.downsampler.process(pcm24k, this.pcm8k));
  }

  private encodeAndFrame(pcm8k: Int16Array): Buffer[] {
    if (this.mulaw8k.length < pcm8k.length) this.mulaw8k = new Uint8Array(pcm8k.length);
    return this.framer.push(encodeMulaw(pcm8k, this.mulaw8k));
  }
}

class ModelToCallerPcmu implements ModelToCaller {
  private readonly framer = new MulawFramer();

  get pendingBytes(): number {
    return this.framer.pendingBytes;
  }

  push(modelBytes: Uint8Array): Buffer[] {
    return this.framer.push(modelBytes);
  }

  flush(): Buffer[] {
    return this.framer.flush();
  }

  reset(): void {
    this.framer.reset();
  }
}

/**
 * PCM16 LE bytes → samples, as a new array (a copy: safe for any `byteOffset`, including the
 * odd offsets of Buffer pool slices). Throws `RangeError` on an odd byte count — streams whose
 * deltas split samples go through {@link createModelToCaller}, which carries the odd byte.
 */
export function pcm16FromBytes(bytes: Uint8Array): Int16Array {
  if (bytes.length % 2 !== 0) throw new RangeError(`PCM16 needs an even byte count, got ${bytes.length}`);
  const pcm = new Int16Array(bytes.length / 2);
  if (HOST_LITTLE_ENDIAN) {
    new Uint8Array(pcm.buffer).set(bytes);
  } else {
    for (let s = 0, i = 0; s < pcm.length; s++, i += 2) pcm[s] = ((bytes[i]! | (bytes[i + 1]! << 8)) << 16) >> 16;
  }
  return pcm;
}

/** Samples → PCM16 LE bytes, in a fresh Buffer (a copy; never aliases `pcm`). */
export function pcm16ToBytes(pcm: Int16Array): Buffer {
  const out = Buffer.allocUnsafe(pcm.length * 2);
  writePcm16Le(pcm, out);
  return out;
}

function writePcm16Le(pcm: Int16Array, out: Buffer): void {
  if (HOST_LITTLE_ENDIAN) {
    out.set(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength), 0);
    return;
  }
  for (let s = 0; s < pcm.length; s++) out.writeInt16LE(pcm[s]!, s * 2);
}
