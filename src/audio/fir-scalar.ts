/**
 * The resampling kernels in plain TypeScript: the readable reference for the SIMD kernels
 * (fir-simd.ts) and the fallback where the runtime has no WebAssembly SIMD (e.g. `--jitless`).
 * Pure: no IO.
 *
 * Bit-exact with the SIMD kernels, on purpose: a call must sound the same whichever kernel a
 * host picked, and the replay of a recorded call must give the same bytes on any host. So this
 * file does float32 arithmetic exactly as the SIMD kernels do, in the same order:
 * - coefficients rounded to float32 once; int16 samples are exact in float32;
 * - every product and every sum rounded to float32 (`Math.fround`): a float64 product of two
 *   float32 values is exact, and a float64 sum rounded to float32 equals the float32 sum
 *   (float64 has more than twice float32's precision), so each step is the float32 operation;
 * - the up kernel accumulates each output over the taps in order; the down kernel in four
 *   interleaved partial sums (tap t into sum t mod 4, as the four SIMD lanes), added as
 *   (s0 + s2) + (s1 + s3);
 * - rounding to the nearest integer, ties to even (`f32.nearest`), then saturation to int16.
 */
import { FIR_MAX_BLOCK, FIR_MAX_HISTORY, type FirKernels } from './fir-kernels.js';

const fround = Math.fround;

/**
 * Builds the kernels for a filter.
 *
 * @param upBranches - the three polyphase branches, each over the window oldest → newest:
 *   output p of input i is Σ_j upBranches[p][j] · x[i + j].
 * @param down - the prototype over the window oldest → newest: Σ_t down[t] · x[j + t]; its
 *   length a multiple of 4 (the four partial sums).
 */
export function buildScalarFirKernels(
  upBranches: readonly [Float64Array, Float64Array, Float64Array],
  down: Float64Array,
): FirKernels {
  const upTaps = upBranches[0].length;
  if (upTaps - 1 > FIR_MAX_HISTORY || down.length - 1 > FIR_MAX_HISTORY || down.length % 4 !== 0)
    throw new RangeError('fir-scalar: unsupported filter length');
  const [b0, b1, b2] = upBranches.map((b) => Float32Array.from(b)) as [Float32Array, Float32Array, Float32Array];
  const h = Float32Array.from(down);
  const input = new Int16Array(FIR_MAX_HISTORY + FIR_MAX_BLOCK);
  const output = new Int16Array(3 * FIR_MAX_BLOCK);

  function up(n: number): void {
    for (let i = 0; i < n; i++) {
      let y0 = 0;
      let y1 = 0;
      let y2 = 0;
      for (let j = 0; j < upTaps; j++) {
        const x = input[i + j]!;
        y0 = fround(y0 + fround(x * b0[j]!));
        y1 = fround(y1 + fround(x * b1[j]!));
        y2 = fround(y2 + fround(x * b2[j]!));
      }
      output[3 * i] = toInt16(y0);
      output[3 * i + 1] = toInt16(y1);
      output[3 * i + 2] = toInt16(y2);
    }
  }

  function downKernel(n: number, phase: number): number {
    let o = 0;
    for (let j = phase; j < n; j += 3) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let t = 0; t < h.length; t += 4) {
        s0 = fround(s0 + fround(input[j + t]! * h[t]!));
        s1 = fround(s1 + fround(input[j + t + 1]! * h[t + 1]!));
        s2 = fround(s2 + fround(input[j + t + 2]! * h[t + 2]!));
        s3 = fround(s3 + fround(input[j + t + 3]! * h[t + 3]!));
      }
      output[o++] = toInt16(fround(fround(s0 + s2) + fround(s1 + s3)));
    }
    return o;
  }

  return { kind: 'scalar', input, output, up, down: downKernel };
}

/** float32 → int16 as the SIMD kernels do it: nearest, ties to even, then saturate. */
function toInt16(x: number): number {
  let r = Math.round(x); // ties towards +∞
  if (r - x === 0.5 && r % 2 !== 0) r -= 1;
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}
