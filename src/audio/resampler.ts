/**
 * Streaming 8 kHz ⇄ 24 kHz resamplers for the two fixed ratios the bridge needs (1:3 caller →
 * model, 3:1 model → caller). Pure: no IO, no timers, no logging.
 *
 * Both directions use ONE linear-phase low-pass prototype at 24 kHz (a Kaiser-windowed sinc,
 * {@link FILTER_TAPS} taps) and keep their filter history between calls, so:
 *
 * - output is bit-identical however the input is chunked (each output sample is computed
 *   by the same arithmetic on the same input samples, in the same order);
 * - sample counts are exact: up emits exactly 3 × n; down emits a cumulative
 *   `ceil(totalIn / 3)`, so nothing drifts however many odd-sized deltas arrive;
 * - the group delay is constant: (taps − 1) / 2 samples at 24 kHz = {@link RESAMPLER_DELAY_MS}.
 *
 * Why not a library: `wave-resampler` keeps no state, so per-chunk calls click every 20 ms
 * and drift ~10 ms/min; `libsamplerate-js` costs 26 MB of WASM per instance and ~9 ms CPU
 * per audio-second per direction and cannot flush (dsp.md §2–4).
 *
 * Hot path: the dot products run in kernels generated from this file's prototype, chosen
 * once per process: WebAssembly SIMD (fir-simd.ts) where the runtime validates the module,
 * else the scalar reference (fir-scalar.ts); the two are bit-exact. Each instance keeps only
 * its int16 history (23 or 71 samples) in JS and hands `[history | chunk]` to the kernels.
 */
import { FIR_MAX_BLOCK, type FirKernelKind, type FirKernels } from './fir-kernels.js';
import { buildScalarFirKernels } from './fir-scalar.js';
import { buildSimdFirKernels } from './fir-simd.js';

/**
 * Prototype filter length. Must be a multiple of 12: 3 polyphase branches, and whole
 * 4-lane vectors in the down kernel. 72 is the shortest such length
 * whose worst-case stopband from 4.6 kHz up stays ≥ 60 dB with the passband inside ±0.2 dB
 * over 300–3400 Hz. Grid search over cutoff and β per length (`npm run bench -- filter`,
 * 5 Hz steps): 60 taps reach 52.4 dB, 66 taps 58.6 dB, 72 taps 64.4 dB, 84 taps 75.5 dB at
 * +17 % CPU and +0.25 ms delay, 96 taps 89.8 dB at 1.98 ms. G.711 itself limits a call to
 * ~38 dB SNR (dsp.md §1), so stopband beyond ~60 dB buys nothing audible, while delay and
 * CPU grow linearly with taps.
 */
export const FILTER_TAPS = 72;

/**
 * Prototype cutoff (−6 dB point of the windowed sinc) at 24 kHz. 3925 Hz sits between the
 * telephone band edge (3.4 kHz) and the first alias/image frequency that lands back in it
 * (4.6 kHz). Measured at 72 taps, β 6.25 (passband droop at 3.4 kHz / worst stopband from
 * 4.6 kHz): 3900 Hz 0.21 dB / 64.6 dB (droop outside ±0.2 dB); 3925 Hz 0.152 dB / 64.4 dB;
 * 3950 Hz 0.11 dB / 56.0 dB (the transition band now reaches past 4.6 kHz).
 */
export const FILTER_CUTOFF_HZ = 3925;

/**
 * Kaiser window β: trades sidelobe level (stopband) against main-lobe width (transition
 * band). Measured at 72 taps, 3925 Hz: β 5.75 → 60.4 dB stopband, 0.10 dB droop; β 6.25 →
 * 64.4 dB, 0.152 dB (the optimum: the sidelobes and the transition edge meet at 4.6 kHz);
 * β 6.5 → 57.5 dB, 0.18 dB (the wider main lobe now reaches past 4.6 kHz).
 */
export const FILTER_KAISER_BETA = 6.25;

/** Rate of the model side (OpenAI Realtime PCM16) and of the prototype filter. */
export const MODEL_SAMPLE_RATE_HZ = 24_000;
/** Rate of the caller side (Twilio μ-law). */
export const CALLER_SAMPLE_RATE_HZ = 8_000;
/** Integer ratio between the two rates. */
const RATIO = 3;

/**
 * Group delay per direction in ms: (taps − 1) / 2 samples at 24 kHz = 35.5 / 24 ms ≈ 1.479 ms.
 * Exact for both directions because the prototype is linear-phase and both directions
 * anchor output sample 0 at input time 0.
 */
export const RESAMPLER_DELAY_MS = ((FILTER_TAPS - 1) / 2 / MODEL_SAMPLE_RATE_HZ) * 1000;

if (FILTER_TAPS % 12 !== 0) throw new Error('FILTER_TAPS must be a multiple of 12 (see its comment)');

/** History an upsampler keeps: taps / 3 − 1 input samples at 8 kHz. */
const UP_HISTORY = FILTER_TAPS / RATIO - 1;
/** History a downsampler keeps: taps − 1 input samples at 24 kHz. */
const DOWN_HISTORY = FILTER_TAPS - 1;

/**
 * Designs a Kaiser-windowed-sinc low-pass FIR, normalised to unity gain at DC.
 * Pure; exported for the filter-design bench and tests.
 *
 * @param taps - filter length (≥ 2).
 * @param cutoffHz - −6 dB frequency.
 * @param beta - Kaiser window shape (0 = rectangular).
 * @param sampleRateHz - rate the filter runs at.
 */
export function designKaiserLowpass(taps: number, cutoffHz: number, beta: number, sampleRateHz: number): Float64Array {
  if (!Number.isInteger(taps) || taps < 2) throw new RangeError(`taps must be an integer ≥ 2, got ${taps}`);
  const h = new Float64Array(taps);
  const centre = (taps - 1) / 2;
  const fc = cutoffHz / sampleRateHz; // cycles per sample
  const i0Beta = besselI0(beta);
  let sum = 0;
  for (let j = 0; j < taps; j++) {
    const x = j - centre;
    const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
    const r = x / centre;
    const window = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta;
    const v = sinc * window;
    h[j] = v;
    sum += v;
  }
  for (let j = 0; j < taps; j++) h[j] = h[j]! / sum;
  return h;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges for all x used here). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const halfX = x / 2;
  for (let k = 1; k < 100; k++) {
    term *= (halfX / k) * (halfX / k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** The prototype, shared read-only by every instance. */
const PROTOTYPE: Float64Array = designKaiserLowpass(
  FILTER_TAPS,
  FILTER_CUTOFF_HZ,
  FILTER_KAISER_BETA,
  MODEL_SAMPLE_RATE_HZ,
);

/**
 * The polyphase branches of the gain-3 prototype over an input window oldest → newest
 * (zero-stuffing keeps 1 sample in 3, so the passband needs gain 3): output p of input
 * sample i is Σ_j branch_p[j] · x[i − 23 + j], and the three outputs of one input sample are
 * in time order p = 0, 1, 2.
 */
const UP_BRANCH_TAPS = FILTER_TAPS / RATIO;
const UP_BRANCHES: [Float64Array, Float64Array, Float64Array] = [
  new Float64Array(UP_BRANCH_TAPS),
  new Float64Array(UP_BRANCH_TAPS),
  new Float64Array(UP_BRANCH_TAPS),
];
for (let j = 0; j < UP_BRANCH_TAPS; j++) {
  UP_BRANCHES[0][j] = RATIO * PROTOTYPE[RATIO * (UP_BRANCH_TAPS - 1 - j)]!;
  UP_BRANCHES[1][j] = RATIO * PROTOTYPE[RATIO * j + 1]!;
  UP_BRANCHES[2][j] = RATIO * PROTOTYPE[RATIO * j]!;
}

/**
 * Builds this filter's kernels of one kind; null for `simd` where the runtime has no
 * WebAssembly SIMD. For tests and the bench; resamplers use {@link RESAMPLER_KERNELS}.
 */
export function buildResamplerKernels(kind: FirKernelKind): FirKernels | null {
  return kind === 'simd' ? buildSimdFirKernels(UP_BRANCHES, PROTOTYPE) : buildScalarFirKernels(UP_BRANCHES, PROTOTYPE);
}

/**
 * The kernels every resampler uses unless given others, chosen once per process: SIMD where
 * `WebAssembly.validate` accepts the module, else scalar (same output, slower).
 */
export const RESAMPLER_KERNELS: FirKernels = buildResamplerKernels('simd') ?? buildResamplerKernels('scalar')!;

function outputBuffer(out: Int16Array | undefined, n: number): Int16Array {
  if (out === undefined) return new Int16Array(n);
  if (out.length < n) throw new RangeError(`out holds ${out.length} samples, need ${n}`);
  return out.length === n ? out : out.subarray(0, n);
}

/**
 * 8 kHz → 24 kHz streaming upsampler (caller → model).
 *
 * Polyphase form of the prototype: for every input sample, three outputs, each a 24-tap
 * dot product with the last 24 inputs. Keeps taps/3 − 1 = 23
 * input samples of history. One instance per stream; not shareable between streams.
 */
export class Upsampler8kTo24k {
  /** the last 23 input samples (the window's older part) */
  private readonly history = new Int16Array(UP_HISTORY);

  /** @param kernels - the dot products to run (default: this process's choice) */
  constructor(private readonly kernels: FirKernels = RESAMPLER_KERNELS) {}

  /**
   * Resamples the next chunk of the stream.
   *
   * @param pcm8k - any number of samples (0 is fine).
   * @param out - optional destination of ≥ 3 × n samples, reused on the hot path; when longer,
   *   a prefix view is returned. Shorter → `RangeError`.
   * @returns exactly 3 × `pcm8k.length` samples, delayed by {@link RESAMPLER_DELAY_MS}.
   */
  process(pcm8k: Int16Array, out?: Int16Array): Int16Array {
    const n = pcm8k.length;
    const dest = outputBuffer(out, n * RATIO);
    const { input, output } = this.kernels;
    for (let start = 0; start < n; start += FIR_MAX_BLOCK) {
      const m = Math.min(FIR_MAX_BLOCK, n - start);
      input.set(this.history, 0);
      input.set(m === n ? pcm8k : pcm8k.subarray(start, start + m), UP_HISTORY);
      this.kernels.up(m);
      dest.set(output.subarray(0, m * RATIO), start * RATIO);
      this.history.set(input.subarray(m, m + UP_HISTORY));
    }
    return dest;
  }

  /**
   * Emits the filter tail: the output that 23 samples of silence would produce, i.e. until
   * the last real input sample has left the filter (69 samples, 2.875 ms at 24 kHz). After
   * `flush()` the upsampler is in its initial state, ready for a new stream.
   */
  flush(): Int16Array {
    const tail = this.process(new Int16Array(UP_HISTORY));
    this.reset();
    return tail;
  }

  /** Forgets the filter history (e.g. after a Twilio `clear` or a new response). */
  reset(): void {
    this.history.fill(0);
  }
}

/**
 * 24 kHz → 8 kHz streaming downsampler (model → caller).
 *
 * Direct-form FIR evaluated only at every 3rd input sample (absolute indices 0, 3, 6, …),
 * with taps − 1 = 71 samples of history and the decimation phase carried across calls.
 * Output sample m ≈ input at time (3m − 35.5) / 24000 s. Cumulative output count after a
 * total of N input samples is exactly ceil(N / 3); a single call may return one more or
 * one fewer than `n / 3` (e.g. 1298 → 433, then 1720 → 573).
 */
export class Downsampler24kTo8k {
  /** the last 71 input samples (the window's older part) */
  private readonly history = new Int16Array(DOWN_HISTORY);
  /** Index in the next chunk of the first input sample that completes an output (0–2). */
  private phase = 0;

  /** @param kernels - the dot products to run (default: this process's choice) */
  constructor(private readonly kernels: FirKernels = RESAMPLER_KERNELS) {}

  /**
   * Resamples the next chunk of the stream.
   *
   * @param pcm24k - any number of samples (0 is fine).
   * @param out - optional destination of ≥ {@link outputLength}(n) samples; same contract
   *   as {@link Upsampler8kTo24k.process}.
   * @returns `outputLength(pcm24k.length)` samples, delayed by {@link RESAMPLER_DELAY_MS}.
   */
  process(pcm24k: Int16Array, out?: Int16Array): Int16Array {
    const n = pcm24k.length;
    const dest = outputBuffer(out, this.outputLength(n));
    const { input, output } = this.kernels;
    let o = 0;
    for (let start = 0; start < n; start += FIR_MAX_BLOCK) {
      const m = Math.min(FIR_MAX_BLOCK, n - start);
      input.set(this.history, 0);
      input.set(m === n ? pcm24k : pcm24k.subarray(start, start + m), DOWN_HISTORY);
      const count = this.kernels.down(m, this.phase);
      dest.set(output.subarray(0, count), o);
      o += count;
      // the kernel stopped at the first output index ≥ m: phase + 3 · count
      this.phase += RATIO * count - m;
      this.history.set(input.subarray(m, m + DOWN_HISTORY));
    }
    return dest;
  }

  /** How many samples the next `process()` of `inputLength` samples will return. */
  outputLength(inputLength: number): number {
    return inputLength > this.phase ? Math.ceil((inputLength - this.phase) / RATIO) : 0;
  }

  /**
   * Emits the filter tail: the output that 71 samples of silence would produce, i.e. until
   * the last real input sample has left the filter (23 or 24 samples, ~3 ms at 8 kHz; the
   * cumulative count becomes ceil((N + 71) / 3)). After `flush()` the downsampler is in its
   * initial state, so the next stream's sample 0 is again an output instant.
   */
  flush(): Int16Array {
    const tail = this.process(new Int16Array(DOWN_HISTORY));
    this.reset();
    return tail;
  }

  /** Forgets the filter history and the decimation phase (e.g. after a Twilio `clear`). */
  reset(): void {
    this.history.fill(0);
    this.phase = 0;
  }
}
