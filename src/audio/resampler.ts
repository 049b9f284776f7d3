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
 * Hot-path design (measured on the bench machine; see bench/README.md):
 * - Linear work buffer `[history | new input]` instead of a ring buffer: the inner loop has
 *   no modulo and no wrap branch; the only cost is copying taps − 1 samples per call.
 * - Float64 state and coefficients: no float32 ⇄ float64 conversions in the inner loop.
 * - Down3 folds the symmetric coefficients (h[k] = h[N−1−k]): 36 instead of 72
 *   multiplies per output sample; measured 0.61 vs 0.77 ms CPU per audio-second.
 * - Up3 computes the three polyphase outputs of one input sample in one pass, folding
 *   the mirrored branches (see UP_EVEN): 36 instead of 72 multiplies per input sample.
 */

/**
 * Prototype filter length. Must be a multiple of 12: 3 polyphase branches of even length
 * (each folded in half) and pairs of folded taps in Down3. 72 is the shortest such length
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
const PROTOTYPE: Float64Array = designKaiserLowpass(FILTER_TAPS, FILTER_CUTOFF_HZ, FILTER_KAISER_BETA, MODEL_SAMPLE_RATE_HZ);

/**
 * Up3 coefficients, folded. The polyphase branches of the gain-3 prototype are
 * g_p[k] = 3·h[3k + p], k = 0..23 (zero-stuffing keeps 1 sample in 3, so the passband needs
 * gain 3). Because h is symmetric, branch 2 is branch 0 reversed and branch 1 is symmetric.
 * Pairing input x_k with x_{23−k} (S = sum, D = difference):
 *   y0 = Σ UP_EVEN·S + Σ UP_ODD·D,  y2 = Σ UP_EVEN·S − Σ UP_ODD·D,  y1 = Σ UP_MID·S
 * with UP_EVEN = (g0[k] + g0[23−k]) / 2, UP_ODD = (g0[k] − g0[23−k]) / 2, UP_MID = g1[k].
 * 12 iterations of 3 multiplies instead of 24 of 3; measured 0.49 vs 0.64 ms CPU per
 * audio-second, identical int16 output on a 60 s test signal (the unit tests hold it within
 * 1 LSB of the textbook zero-stuff-and-filter form for random input).
 */
const UP_BRANCH_TAPS = FILTER_TAPS / RATIO;
const UP_FOLD = UP_BRANCH_TAPS / 2;
const UP_EVEN = new Float64Array(UP_FOLD);
const UP_ODD = new Float64Array(UP_FOLD);
const UP_MID = new Float64Array(UP_FOLD);
for (let k = 0; k < UP_FOLD; k++) {
  const a = RATIO * PROTOTYPE[RATIO * k]!;
  const b = RATIO * PROTOTYPE[RATIO * (UP_BRANCH_TAPS - 1 - k)]!;
  UP_EVEN[k] = (a + b) / 2;
  UP_ODD[k] = (a - b) / 2;
  UP_MID[k] = RATIO * PROTOTYPE[RATIO * k + 1]!;
}

/** Down3 folded coefficients: h[0..35]; h[k] multiplies x[c − k] + x[c − 71 + k]. */
const DOWN_HALF: Float64Array = PROTOTYPE.slice(0, FILTER_TAPS / 2);

/**
 * Rounds to the nearest int16 and clamps. Σ|h| is 1.85 (down) and up to 2.25 (an up branch),
 * so adversarial full-scale input can overshoot that far; real audio near full scale
 * overshoots a little (Gibbs). Clamping keeps it from wrapping around in the Int16Array.
 */
function toInt16(v: number): number {
  const r = Math.round(v);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}

function outputBuffer(out: Int16Array | undefined, n: number): Int16Array {
  if (out === undefined) return new Int16Array(n);
  if (out.length < n) throw new RangeError(`out holds ${out.length} samples, need ${n}`);
  return out.length === n ? out : out.subarray(0, n);
}

/**
 * 8 kHz → 24 kHz streaming upsampler (caller → model).
 *
 * Polyphase form of the prototype: for every input sample, three outputs, each a 24-tap
 * dot product with the last 24 inputs (computed folded, see UP_EVEN). Keeps taps/3 − 1 = 23
 * input samples of history. One instance per stream; not shareable between streams.
 */
export class Upsampler8kTo24k {
  /** `[history (23) | current chunk]`; grows to the largest chunk seen, then is reused. */
  private work = new Float64Array(UP_HISTORY + 1024);

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
    if (n === 0) return dest;
    if (this.work.length < UP_HISTORY + n) {
      const grown = new Float64Array(UP_HISTORY + n);
      grown.set(this.work.subarray(0, UP_HISTORY));
      this.work = grown;
    }
    const w = this.work;
    for (let i = 0; i < n; i++) w[UP_HISTORY + i] = pcm8k[i]!;
    let o = 0;
    for (let i = 0; i < n; i++) {
      // this input's window is w[i .. i + 23], newest last; fold its two ends together.
      let even = 0;
      let odd = 0;
      let mid = 0;
      for (let k = 0, newer = i + UP_HISTORY, older = i; k < UP_FOLD; k++, newer--, older++) {
        const xNew = w[newer]!;
        const xOld = w[older]!;
        const sum = xNew + xOld;
        even += UP_EVEN[k]! * sum;
        odd += UP_ODD[k]! * (xNew - xOld);
        mid += UP_MID[k]! * sum;
      }
      dest[o] = toInt16(even + odd);
      dest[o + 1] = toInt16(mid);
      dest[o + 2] = toInt16(even - odd);
      o += 3;
    }
    w.copyWithin(0, n, n + UP_HISTORY);
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
    this.work.fill(0, 0, UP_HISTORY);
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
  /** `[history (71) | current chunk]`; grows to the largest chunk seen, then is reused. */
  private work = new Float64Array(DOWN_HISTORY + 4096);
  /** Index in the next chunk of the first input sample that completes an output (0–2). */
  private phase = 0;

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
    const count = this.outputLength(n);
    const dest = outputBuffer(out, count);
    if (n === 0) return dest;
    if (this.work.length < DOWN_HISTORY + n) {
      const grown = new Float64Array(DOWN_HISTORY + n);
      grown.set(this.work.subarray(0, DOWN_HISTORY));
      this.work = grown;
    }
    const w = this.work;
    for (let i = 0; i < n; i++) w[DOWN_HISTORY + i] = pcm24k[i]!;
    const h = DOWN_HALF;
    const half = FILTER_TAPS / 2;
    let o = 0;
    let j = this.phase;
    for (; j < n; j += RATIO) {
      // window is w[j .. j + 71]; fold the symmetric ends together. Two accumulators halve
      // the chain of dependent adds (measured 0.58 vs 0.66 ms per audio-second; 4 gain nothing more).
      let accEven = 0;
      let accOdd = 0;
      for (let k = 0, lo = j, hi = j + DOWN_HISTORY; k < half; k += 2, lo += 2, hi -= 2) {
        accEven += h[k]! * (w[lo]! + w[hi]!);
        accOdd += h[k + 1]! * (w[lo + 1]! + w[hi - 1]!);
      }
      dest[o++] = toInt16(accEven + accOdd);
    }
    this.phase = j - n;
    w.copyWithin(0, n, n + DOWN_HISTORY);
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
    this.work.fill(0, 0, DOWN_HISTORY);
    this.phase = 0;
  }
}
