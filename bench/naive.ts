/**
 * The naive pipeline, kept only as the bench's comparison column: `alawmulaw` for the codec
 * and `wave-resampler` with its defaults (cubic interpolation + IIR low-pass, forward and
 * backward) called once per chunk, which is what a bridge gets by reaching for the first npm
 * resampler. It keeps no state between chunks (dsp.md §2–4). Same interfaces as
 * src/audio/transcoder.ts, so the bench drives and measures both the same way.
 *
 * Written as a careful implementer would: the odd byte of a split sample is carried, float
 * output is rounded and clamped in a plain loop (not `Int16Array.from(x, fn)`, which dsp.md
 * measured ~1 ms per audio-second slower), and outbound audio is re-framed to 160 bytes.
 */
import alawmulaw from 'alawmulaw';
import waveResampler from 'wave-resampler';
import { MulawFramer } from '../src/audio/framer.js';
import type { CallerToModel, ModelToCaller } from '../src/audio/transcoder.js';

/** One wave-resampler call on one chunk, rounded and clamped to int16. */
export function naiveResampleChunk(pcm: Int16Array, fromHz: number, toHz: number): Int16Array {
  // wave-resampler's LPF path overwrites its input when downsampling; give it a copy
  const resampled = waveResampler.resample(fromHz > toHz ? pcm.slice() : pcm, fromHz, toHz);
  const out = new Int16Array(resampled.length);
  for (let i = 0; i < out.length; i++) {
    const r = Math.round(resampled[i]!);
    out[i] = r > 32767 ? 32767 : r < -32768 ? -32768 : r;
  }
  return out;
}

/** Caller → model, naive: decode, wave-resampler 8k → 24k per frame. */
export class NaiveCallerToModel implements CallerToModel {
  push(mulaw8k: Uint8Array): Buffer {
    const pcm8k = alawmulaw.mulaw.decode(mulaw8k);
    const pcm24k = naiveResampleChunk(pcm8k, 8000, 24000);
    return Buffer.from(pcm24k.buffer, pcm24k.byteOffset, pcm24k.byteLength);
  }

  flush(): Buffer {
    return Buffer.alloc(0);
  }

  reset(): void {}
}

/** Model → caller, naive: wave-resampler 24k → 8k per delta, encode, frame. */
export class NaiveModelToCaller implements ModelToCaller {
  private readonly framer = new MulawFramer();
  private oddByte = -1;

  get pendingBytes(): number {
    return this.framer.pendingBytes;
  }

  push(modelBytes: Uint8Array): Buffer[] {
    const n = modelBytes.length;
    if (n === 0) return [];
    const pcm24k = new Int16Array((n + (this.oddByte >= 0 ? 1 : 0)) >> 1);
    let i = 0;
    let s = 0;
    if (this.oddByte >= 0) {
      pcm24k[s++] = (((modelBytes[0]! << 8) | this.oddByte) << 16) >> 16;
      i = 1;
      this.oddByte = -1;
    }
    for (; i + 1 < n; i += 2) pcm24k[s++] = ((modelBytes[i]! | (modelBytes[i + 1]! << 8)) << 16) >> 16;
    if (i < n) this.oddByte = modelBytes[i]!;
    if (pcm24k.length === 0) return [];
    return this.framer.push(alawmulaw.mulaw.encode(naiveResampleChunk(pcm24k, 24000, 8000)));
  }

  flush(): Buffer[] {
    this.oddByte = -1;
    return this.framer.flush();
  }

  reset(): void {
    this.oddByte = -1;
    this.framer.reset();
  }
}
