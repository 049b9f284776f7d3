/**
 * The scalar kernels (the readable reference and the fallback) and the WebAssembly SIMD
 * kernels give the same samples, bit for bit: in both resampling directions, on random and
 * edge-case input (silence, full scale with saturating overshoot, odd lengths, lengths
 * around the kernels' block size), however the stream is chunked. And the fallback, forced,
 * runs the real transcoders: in-process by injection, and in a `--jitless` node, where
 * WebAssembly is missing and the resampler picks the scalar kernels by itself.
 */
import { execFileSync } from 'node:child_process';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { FIR_MAX_BLOCK, FIR_MAX_HISTORY, type FirKernels } from '../../../src/audio/fir-kernels.js';
import { encodeMulaw } from '../../../src/audio/g711.js';
import { fitTones } from '../../../src/audio/measure.js';
import {
  buildResamplerKernels,
  Downsampler24kTo8k,
  RESAMPLER_DELAY_MS,
  RESAMPLER_KERNELS,
  Upsampler8kTo24k,
} from '../../../src/audio/resampler.js';
import { renderTones, seededRandom, speechShapedTones } from '../../../src/audio/signals.js';
import { createCallerToModel, createModelToCaller, pcm16FromBytes } from '../../../src/audio/transcoder.js';
import { PROJECT_ROOT } from '../../../scripts/start-command.js';
import { chunk, chunkSizes, concatBytes, FC_PARAMS, firstDifference, int16Stream } from '../../support/audio.js';

const SIMD = buildResamplerKernels('simd')!;
const SCALAR = buildResamplerKernels('scalar')!;

function upsample(kernels: FirKernels, x: Int16Array, sizes: readonly number[]): Int16Array {
  const up = new Upsampler8kTo24k(kernels);
  const parts = x.length === 0 ? [] : chunk(x, sizes).map((c) => up.process(c).slice());
  return concat([...parts, up.flush()]);
}

function downsample(kernels: FirKernels, x: Int16Array, sizes: readonly number[]): Int16Array {
  const down = new Downsampler24kTo8k(kernels);
  const parts = x.length === 0 ? [] : chunk(x, sizes).map((c) => down.process(c).slice());
  return concat([...parts, down.flush()]);
}

function concat(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function expectSame(simd: Int16Array, scalar: Int16Array): void {
  expect(scalar.length).toBe(simd.length);
  expect(firstDifference(simd, scalar)).toBe(-1);
}

const EDGE_LENGTHS = [1, 2, 3, 5, 7, 159, 160, 161, 479, 481, FIR_MAX_BLOCK - 1, FIR_MAX_BLOCK, FIR_MAX_BLOCK + 1];

function edgeSignals(length: number): Record<string, Int16Array> {
  const random = seededRandom(length);
  return {
    silence: new Int16Array(length),
    'full scale +': new Int16Array(length).fill(32767),
    'full scale −': new Int16Array(length).fill(-32768),
    'alternating full scale': Int16Array.from({ length }, (_, i) => (i % 2 === 0 ? 32767 : -32768)),
    'square, period 14': Int16Array.from({ length }, (_, i) => (Math.floor(i / 7) % 2 === 0 ? 32767 : -32768)),
    'one impulse': Int16Array.from({ length }, (_, i) => (i === length >> 1 ? -32768 : 0)),
    'noise ±1 LSB': Int16Array.from({ length }, () => Math.floor(random() * 3) - 1),
  };
}

describe('scalar and SIMD resampling kernels', () => {
  it('this runtime has WebAssembly SIMD, and the resamplers use it by default', () => {
    expect(SIMD.kind).toBe('simd');
    expect(SCALAR.kind).toBe('scalar');
    expect(RESAMPLER_KERNELS.kind).toBe('simd');
  });

  it.each(EDGE_LENGTHS)('are bit-exact on edge-case signals of %i samples, both directions', (length) => {
    for (const [name, x] of Object.entries(edgeSignals(length))) {
      for (const sizes of [[length], [1], [3, 1, 2], [FIR_MAX_BLOCK + 1]]) {
        const what = `${name}, chunks ${sizes.join(',')}`;
        expect(firstDifference(upsample(SIMD, x, sizes), upsample(SCALAR, x, sizes)), `up: ${what}`).toBe(-1);
        expect(firstDifference(downsample(SIMD, x, sizes), downsample(SCALAR, x, sizes)), `down: ${what}`).toBe(-1);
      }
    }
  });

  it('saturate alike: full-scale squares overshoot past int16 in both directions', () => {
    const x = edgeSignals(480)['square, period 14']!;
    const up = upsample(SCALAR, x, [480]);
    const down = downsample(SCALAR, x, [480]);
    expect(up.includes(32767) && up.includes(-32768)).toBe(true);
    expect(down.includes(32767) && down.includes(-32768)).toBe(true);
    expectSame(upsample(SIMD, x, [480]), up);
    expectSame(downsample(SIMD, x, [480]), down);
  });

  it('are bit-exact on random streams in random chunks, up (8 → 24 kHz)', () => {
    fc.assert(
      fc.property(int16Stream(6000), chunkSizes(2 * FIR_MAX_BLOCK + 3), (x, sizes) => {
        expectSame(upsample(SIMD, x, sizes), upsample(SCALAR, x, sizes));
      }),
      FC_PARAMS,
    );
  });

  it('are bit-exact on random streams in random chunks, down (24 → 8 kHz)', () => {
    fc.assert(
      fc.property(int16Stream(6000), chunkSizes(2 * FIR_MAX_BLOCK + 3), (x, sizes) => {
        expectSame(downsample(SIMD, x, sizes), downsample(SCALAR, x, sizes));
      }),
      FC_PARAMS,
    );
  });

  it('are bit-exact kernel to kernel, on any history, length and decimation phase', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 0, max: FIR_MAX_BLOCK }),
        fc.integer({ min: 0, max: 2 }),
        (seed, n, phase) => {
          const random = seededRandom(seed);
          const input = Int16Array.from({ length: FIR_MAX_HISTORY + n }, () => Math.floor(random() * 65536) - 32768);
          const run = (k: FirKernels) => {
            k.input.set(input);
            k.up(n);
            const up = k.output.slice(0, 3 * n);
            k.input.set(input);
            const count = k.down(n, phase);
            return { up, down: k.output.slice(0, count) };
          };
          const simd = run(SIMD);
          const scalar = run(SCALAR);
          expect(scalar.down.length).toBe(n > phase ? Math.ceil((n - phase) / 3) : 0);
          expectSame(simd.up, scalar.up);
          expectSame(simd.down, scalar.down);
        },
      ),
      FC_PARAMS,
    );
  });
});

describe('the transcoders on the scalar kernels (the fallback, forced)', () => {
  const speech = speechShapedTones(31);
  const mulaw = encodeMulaw(renderTones(speech, 8000, 16000));
  const modelBytes = Buffer.from(Int16Array.from(renderTones(speech, 24000, 48000), Math.round).buffer);

  function callerToModelBytes(kernels?: FirKernels): Buffer {
    const stream = createCallerToModel('pcm16', kernels);
    return concatBytes([...chunk(mulaw, [160]).map((frame) => stream.push(frame)), stream.flush()]);
  }

  function modelToCallerBytes(kernels?: FirKernels): Buffer {
    const stream = createModelToCaller('pcm16', kernels);
    const frames = chunk(modelBytes, [4801, 999, 3]).flatMap((delta) => stream.push(delta));
    return concatBytes([...frames, ...stream.flush()]);
  }

  it('give the bytes the SIMD kernels give, and speech comes through at G.711 quality', () => {
    const up = callerToModelBytes(SCALAR);
    expect(up.equals(callerToModelBytes(SIMD))).toBe(true);
    expect(modelToCallerBytes(SCALAR).equals(modelToCallerBytes(SIMD))).toBe(true);
    const fit = fitTones(speech, pcm16FromBytes(up), 24000, {
      start: 2400,
      length: 43200,
      delayGuessSeconds: RESAMPLER_DELAY_MS / 1000,
    });
    expect(fit.snrDb).toBeGreaterThanOrEqual(35);
  });

  it('are what a node without WebAssembly (--jitless) picks, with the same output', () => {
    const script = `
      const { RESAMPLER_KERNELS } = await import('./src/audio/resampler.ts');
      const { createCallerToModel } = await import('./src/audio/transcoder.ts');
      const stream = createCallerToModel('pcm16');
      const input = Buffer.from(process.env.MULAW_HEX, 'hex');
      const out = [];
      for (let i = 0; i < input.length; i += 160) out.push(stream.push(input.subarray(i, i + 160)));
      out.push(stream.flush());
      process.stdout.write(JSON.stringify({ kind: RESAMPLER_KERNELS.kind, hex: Buffer.concat(out).toString('hex') }));
    `;
    const input = mulaw.subarray(0, 1600);
    const stdout = execFileSync(
      process.execPath,
      ['--jitless', '--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, MULAW_HEX: Buffer.from(input).toString('hex') },
        encoding: 'utf8',
      },
    );
    const child = JSON.parse(stdout) as { kind: string; hex: string };
    expect(child.kind).toBe('scalar');
    const stream = createCallerToModel('pcm16', SIMD);
    const expected = concatBytes([...chunk(input, [160]).map((frame) => stream.push(frame)), stream.flush()]);
    expect(child.hex).toBe(expected.toString('hex'));
  }, 30_000); // a child node without its JIT: ~1 s to load tsx and the modules alone, several under load
});
