/**
 * Helpers for the audio tests: joining chunked output, cutting a stream into given chunk
 * sizes, and fast-check arbitraries for chunkings. Signal generators and measurements are
 * product code (src/audio/signals.ts, src/audio/measure.ts), shared with the bench.
 */
import fc from 'fast-check';
import { seededRandom } from '../../src/audio/signals.js';

export { concatInt16 } from '../../src/audio/signals.js';

/** Concatenates byte arrays into one Buffer. */
export function concatBytes(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

/**
 * Cuts `stream` into consecutive chunks of the given sizes (cycled until the stream ends;
 * the last chunk may be shorter). Chunks are subarray views. A size of 0 yields an empty chunk.
 */
export function chunk<T extends Int16Array | Uint8Array>(stream: T, sizes: readonly number[]): T[] {
  if (sizes.length === 0 || sizes.every((s) => s === 0)) throw new RangeError('need a positive chunk size');
  const chunks: T[] = [];
  let offset = 0;
  for (let i = 0; offset < stream.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(stream.subarray(offset, offset + size) as T);
    offset += size;
  }
  return chunks;
}

/**
 * Chunk sizes as a bridge meets them and worse: mostly tiny (1–3, to split samples and
 * decimation phases), some mid-sized and odd, a few large; zeros included.
 */
export const chunkSizes = (maxSize: number): fc.Arbitrary<number[]> =>
  fc
    .array(
      fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) },
        { weight: 3, arbitrary: fc.integer({ min: 0, max: 400 }) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: maxSize }) },
      ),
      { minLength: 1, maxLength: 40 },
    )
    .filter((sizes) => sizes.some((s) => s > 0));

/**
 * A random int16 stream of up to `maxLength` samples, drawn from a seed (fast to generate at
 * any length): full-scale white noise (exercises clamping), a random walk (closer to audio),
 * or a full-scale square wave (maximal filter overshoot).
 */
export const int16Stream = (maxLength: number): fc.Arbitrary<Int16Array> =>
  fc
    .record({
      length: fc.integer({ min: 0, max: maxLength }),
      seed: fc.integer(),
      kind: fc.constantFrom('noise', 'walk', 'square'),
    })
    .map(({ length, seed, kind }) => {
      const random = seededRandom(seed);
      const out = new Int16Array(length);
      let v = 0;
      for (let i = 0; i < length; i++) {
        if (kind === 'noise') v = Math.floor(random() * 65536) - 32768;
        else if (kind === 'walk') v = Math.max(-32768, Math.min(32767, v + Math.floor(random() * 4001) - 2000));
        else v = Math.floor(i / 7) % 2 === 0 ? 32767 : -32768;
        out[i] = v;
      }
      return out;
    });

/** Random bytes of up to `maxLength`, drawn from a seed. */
export const byteStream = (maxLength: number): fc.Arbitrary<Uint8Array> =>
  fc.record({ length: fc.integer({ min: 0, max: maxLength }), seed: fc.integer() }).map(({ length, seed }) => {
    const random = seededRandom(seed);
    return Uint8Array.from({ length }, () => Math.floor(random() * 256));
  });

/**
 * Index of the first element where `a` and `b` differ (the shorter length if one is a
 * prefix of the other), or −1 if they are identical. Much faster than a deep `toEqual` on
 * long typed arrays, and the failure message says where.
 */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (!Object.is(a[i], b[i])) return i;
  return a.length === b.length ? -1 : n;
}

/** Seeded fast-check parameters: deterministic runs (STYLE §2.9). */
export const FC_PARAMS = { seed: 20_240_603, numRuns: 200 } as const;
