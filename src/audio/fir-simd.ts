/**
 * The two resampling kernels as WebAssembly SIMD (f32x4), generated at start-up from the
 * prototype's coefficients, so the filter is still defined once (resampler.ts) and no
 * binary or build step is checked in. Pure: no IO; one module instance per process, used
 * synchronously (the kernels are stateless; each resampler keeps its own history in JS).
 *
 * Why: the dot products are most of a transcoding call's CPU. Four lanes per instruction,
 * the coefficients as constants in the code and no bounds checks make them several times
 * cheaper than the scalar kernels (fir-scalar.ts), which are the readable reference: the
 * arithmetic here is theirs, operation for operation, so the two are bit-exact. float32
 * accumulation keeps the error far below half an LSB of the int16 output (~0.03 LSB for 72
 * taps at full scale), so the output stays within 1 LSB of the float64 textbook form.
 *
 * Memory (one 64 KiB page), per call of a kernel:
 * - `IN`: int16 `[history | chunk]`, written by the caller;
 * - `WORK`: the same samples as float32, converted by the kernel;
 * - `OUT`: int16 output, read by the caller.
 */
import { FIR_MAX_BLOCK, FIR_MAX_HISTORY, type FirKernels } from './fir-kernels.js';

const IN_OFFSET = 0;
/** int16 input incl. the longest history and 8 samples of over-read by the converter */
const IN_BYTES = align16((FIR_MAX_BLOCK + FIR_MAX_HISTORY + 8) * 2);
const WORK_OFFSET = IN_OFFSET + IN_BYTES;
/** float32 work samples, plus 3 vectors of over-read by the last group of the up kernel */
const WORK_BYTES = align16((FIR_MAX_BLOCK + FIR_MAX_HISTORY + 8 + 12) * 4);
const OUT_OFFSET = WORK_OFFSET + WORK_BYTES;
/** int16 output: up writes 3 per input sample, in groups of 4 inputs */
const OUT_BYTES = align16((FIR_MAX_BLOCK + 4) * 3 * 2);
const PAGE_BYTES = 65_536;
if (OUT_OFFSET + OUT_BYTES > PAGE_BYTES) throw new Error('fir-simd: buffers exceed one page');

function align16(n: number): number {
  return Math.ceil(n / 16) * 16;
}

/**
 * Builds the kernels for a filter.
 *
 * @param upBranches - the three polyphase branches, each 24 coefficients over the window
 *   oldest → newest: output p of input i is Σ_j upBranches[p][j] · x[i + j].
 * @param down - 72 coefficients over the window oldest → newest: Σ_t down[t] · x[j + t].
 * @returns the kernels, or null when this runtime has no WebAssembly SIMD.
 */
export function buildSimdFirKernels(
  upBranches: readonly [Float64Array, Float64Array, Float64Array],
  down: Float64Array,
): FirKernels | null {
  const upTaps = upBranches[0].length;
  if (upTaps - 1 > FIR_MAX_HISTORY || down.length - 1 > FIR_MAX_HISTORY || down.length % 4 !== 0)
    throw new RangeError('fir-simd: unsupported filter length');
  const bytes = moduleBytes(upBranches, down);
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  let exports: KernelExports;
  try {
    if (wasm === undefined || !wasm.validate(bytes)) return null;
    exports = new wasm.Instance(new wasm.Module(bytes), {}).exports as KernelExports;
  } catch {
    return null;
  }
  const buffer = exports.memory.buffer;
  return {
    kind: 'simd',
    input: new Int16Array(buffer, IN_OFFSET, IN_BYTES / 2),
    output: new Int16Array(buffer, OUT_OFFSET, OUT_BYTES / 2),
    up: exports.up,
    down: exports.down,
  };
}

/** The slice of the WebAssembly JS API used here (the project's TS libs do not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

interface KernelExports {
  memory: { buffer: ArrayBuffer };
  up: (n: number) => void;
  down: (n: number, phase: number) => number;
}

// ── a minimal WebAssembly encoder: just what the two kernels use ─────────────────────────

const I32 = 0x7f;
const V128 = 0x7b;

const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  select: [0x1b],
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  i32: (value: number) => [0x41, ...sleb(value)],
  i32Store16: (offset: number) => [0x3b, 0x01, ...uleb(offset)],
  i32GeS: [0x4e],
  i32LtS: [0x48],
  i32GtS: [0x4a],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  f32Nearest: [0x90],
  i32TruncSatF32S: [0xfc, 0x00],
  v128Load: (offset: number) => [0xfd, ...uleb(0x00), 0x00, ...uleb(offset)],
  v128Store: (offset: number) => [0xfd, ...uleb(0x0b), 0x00, ...uleb(offset)],
  v128Store64Lane0: (offset: number) => [0xfd, ...uleb(0x5b), 0x00, ...uleb(offset), 0],
  f32x4Const: (values: ArrayLike<number>) => [0xfd, ...uleb(0x0c), ...new Uint8Array(Float32Array.from(values).buffer)],
  shuffle16: (lanes: readonly number[]) => [0xfd, ...uleb(0x0d), ...lanes.flatMap((l) => [2 * l, 2 * l + 1])],
  shuffle32: (lanes: readonly number[]) => [
    0xfd,
    ...uleb(0x0d),
    ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]),
  ],
  f32x4ExtractLane0: [0xfd, ...uleb(0x1f), 0],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
  f32x4Nearest: [0xfd, ...uleb(0x6a)],
  i32x4TruncSatF32x4S: [0xfd, ...uleb(0xf8)],
  i16x8NarrowI32x4S: [0xfd, ...uleb(0x85)],
  i32x4ExtendLowI16x8S: [0xfd, ...uleb(0xa7)],
  i32x4ExtendHighI16x8S: [0xfd, ...uleb(0xa8)],
  f32x4ConvertI32x4S: [0xfd, ...uleb(0xfa)],
};

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function utf8(text: string): number[] {
  return [...uleb(text.length), ...Buffer.from(text, 'utf8')];
}

/** A function body: local declarations (type per extra local) then the code. */
function body(locals: number[], code: number[][]): number[] {
  const decls = vec(locals.map((type) => [1, type]));
  const bytes = [...decls, ...code.flat(), ...op.end];
  return [...uleb(bytes.length), ...bytes];
}

/**
 * `WORK[k] = float(IN[k])` for k < total (rounded up to 8). Uses locals `k` and `v`; `total`
 * is the local holding the count.
 */
function convertInput(total: number, k: number, v: number): number[][] {
  return [
    op.i32(0), op.set(k),
    op.block, op.loop,
    op.get(k), op.get(total), op.i32GeS, op.brIf(1),
    op.get(k), op.i32(2), op.i32Mul, op.v128Load(IN_OFFSET), op.set(v),
    op.get(k), op.i32(4), op.i32Mul,
    op.get(v), op.i32x4ExtendLowI16x8S, op.f32x4ConvertI32x4S, op.v128Store(WORK_OFFSET),
    op.get(k), op.i32(4), op.i32Mul,
    op.get(v), op.i32x4ExtendHighI16x8S, op.f32x4ConvertI32x4S, op.v128Store(WORK_OFFSET + 16),
    op.get(k), op.i32(8), op.i32Add, op.set(k),
    op.br(0),
    op.end, op.end,
  ]; // prettier-ignore
}

/** f32x4 → int16 lanes: round to nearest, saturate to int32, then (in narrow) to int16. */
const toInt32Lanes = [op.f32x4Nearest, op.i32x4TruncSatF32x4S];

function upKernel(branches: readonly [Float64Array, Float64Array, Float64Array]): number[] {
  const taps = branches[0].length;
  // params: n(0); locals: i(1) total(2) k(3) | v128: acc0(4) acc1(5) acc2(6) x(7) a(8) b(9)
  const [n, i, total, k, acc0, acc1, acc2, x, a, b] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const accs = [acc0, acc1, acc2];
  const zero = op.f32x4Const([0, 0, 0, 0]);
  const taps4: number[][] = [];
  for (let j = 0; j < taps; j++) {
    // x = WORK[i + j .. i + j + 3] (four consecutive inputs → the same branch output of each)
    taps4.push(op.get(i), op.i32(4), op.i32Mul, op.v128Load(WORK_OFFSET + 4 * j), op.set(x));
    for (let p = 0; p < 3; p++) {
      const c = branches[p]![j]!;
      taps4.push(op.get(accs[p]!), op.get(x), op.f32x4Const([c, c, c, c]), op.f32x4Mul, op.f32x4Add, op.set(accs[p]!));
    }
  }
  const code: number[][] = [
    op.get(n), op.i32(taps - 1), op.i32Add, op.set(total),
    ...convertInput(total, k, x),
    op.i32(0), op.set(i),
    op.block, op.loop,
    op.get(i), op.get(n), op.i32GeS, op.brIf(1),
    zero, op.set(acc0), zero, op.set(acc1), zero, op.set(acc2),
    ...taps4,
    // a = [y0 of inputs i..i+3 | y1 of i..i+3], b = [y2 of i..i+3 | again], as int16
    op.get(acc0), ...toInt32Lanes, op.get(acc1), ...toInt32Lanes, op.i16x8NarrowI32x4S, op.set(a),
    op.get(acc2), ...toInt32Lanes, op.get(acc2), ...toInt32Lanes, op.i16x8NarrowI32x4S, op.set(b),
    // interleave to y0 y1 y2 per input: 8 samples, then 4
    op.get(i), op.i32(6), op.i32Mul,
    op.get(a), op.get(b), op.shuffle16([0, 4, 8, 1, 5, 9, 2, 6]), op.v128Store(OUT_OFFSET),
    op.get(i), op.i32(6), op.i32Mul,
    op.get(a), op.get(b), op.shuffle16([10, 3, 7, 11, 0, 0, 0, 0]), op.v128Store64Lane0(OUT_OFFSET + 16),
    op.get(i), op.i32(4), op.i32Add, op.set(i),
    op.br(0),
    op.end, op.end,
  ]; // prettier-ignore
  return body([I32, I32, I32, V128, V128, V128, V128, V128, V128], code);
}

function downKernel(h: Float64Array): number[] {
  const taps = h.length;
  // params: n(0) phase(1); locals: j(2) o(3) total(4) k(5) y(6) | v128: acc(7) v(8)
  const [n, phase, j, o, total, k, y, acc, v] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const dot: number[][] = [];
  for (let t = 0; t < taps; t += 4) {
    dot.push(
      op.get(acc),
      op.get(j),
      op.i32(4),
      op.i32Mul,
      op.v128Load(WORK_OFFSET + 4 * t),
      op.f32x4Const(h.subarray(t, t + 4)),
      op.f32x4Mul,
      op.f32x4Add,
      op.set(acc),
    );
  }
  const code: number[][] = [
    op.get(n), op.i32(taps - 1), op.i32Add, op.set(total),
    ...convertInput(total, k, v),
    op.get(phase), op.set(j),
    op.i32(0), op.set(o),
    op.block, op.loop,
    op.get(j), op.get(n), op.i32GeS, op.brIf(1),
    op.f32x4Const([0, 0, 0, 0]), op.set(acc),
    ...dot,
    // horizontal sum: (l0 + l2, l1 + l3), then their sum
    op.get(acc), op.get(acc), op.get(acc), op.shuffle32([2, 3, 2, 3]), op.f32x4Add, op.set(acc),
    op.get(acc), op.get(acc), op.get(acc), op.shuffle32([1, 1, 1, 1]), op.f32x4Add,
    op.f32x4ExtractLane0, op.f32Nearest, op.i32TruncSatF32S, op.set(y),
    // clamp to int16
    op.get(y), op.i32(32767), op.get(y), op.i32(32767), op.i32LtS, op.select, op.set(y),
    op.get(y), op.i32(-32768), op.get(y), op.i32(-32768), op.i32GtS, op.select, op.set(y),
    op.get(o), op.i32(2), op.i32Mul, op.get(y), op.i32Store16(OUT_OFFSET),
    op.get(o), op.i32(1), op.i32Add, op.set(o),
    op.get(j), op.i32(3), op.i32Add, op.set(j),
    op.br(0),
    op.end, op.end,
    op.get(o),
  ]; // prettier-ignore
  return body([I32, I32, I32, I32, I32, V128, V128], code);
}

function moduleBytes(upBranches: readonly [Float64Array, Float64Array, Float64Array], down: Float64Array): Uint8Array {
  const types = vec([
    [0x60, ...vec([[I32]]), ...vec([])], // up(n)
    [0x60, ...vec([[I32], [I32]]), ...vec([[I32]])], // down(n, phase) → count
  ]);
  const functions = vec([uleb(0), uleb(1)]);
  const memory = vec([[0x00, ...uleb(1)]]);
  const exports = vec([
    [...utf8('memory'), 0x02, ...uleb(0)],
    [...utf8('up'), 0x00, ...uleb(0)],
    [...utf8('down'), 0x00, ...uleb(1)],
  ]);
  const code = [...uleb(2), ...upKernel(upBranches), ...downKernel(down)];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types),
    ...section(3, functions),
    ...section(5, memory),
    ...section(7, exports),
    ...section(10, code),
  ]); // prettier-ignore
}
