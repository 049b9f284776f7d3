/**
 * The contract between the resamplers (resampler.ts) and the two implementations of their
 * dot products: the WebAssembly SIMD kernels (fir-simd.ts), fast where the runtime has
 * SIMD, and the scalar kernels (fir-scalar.ts), the readable reference and the fallback.
 * Both compute every output with the same float32 operations in the same order, so they are
 * bit-exact with each other (test/unit/audio/fir-kernels.bit-exact.test.ts holds them there).
 */

/** Which implementation a {@link FirKernels} is. */
export type FirKernelKind = 'simd' | 'scalar';

/** Largest chunk (input samples) one kernel call takes; longer input is fed in blocks. */
export const FIR_MAX_BLOCK = 2048;

/** Longest filter history the buffers hold: taps − 1 of the 72-tap down filter. */
export const FIR_MAX_HISTORY = 71;

/**
 * The kernels of one filter, and their buffers. Stateless between calls (each resampler keeps
 * its own history and writes it in front of the chunk), so one instance serves every
 * resampler of the process, used synchronously.
 */
export interface FirKernels {
  readonly kind: FirKernelKind;
  /** int16 input area: `[history | chunk]`, at least FIR_MAX_HISTORY + FIR_MAX_BLOCK samples */
  readonly input: Int16Array;
  /** int16 output area, at least 3 · FIR_MAX_BLOCK samples */
  readonly output: Int16Array;
  /**
   * 8 kHz → 24 kHz: `input` holds taps/3 − 1 history samples then `n` new ones; writes 3·n
   * samples to `output` (y0 y1 y2 per input sample).
   */
  up(n: number): void;
  /**
   * 24 kHz → 8 kHz: `input` holds taps − 1 history samples then `n` new ones; one output for
   * every chunk index j = phase, phase + 3, … < n. Returns how many it wrote to `output`.
   */
  down(n: number, phase: number): number;
}
