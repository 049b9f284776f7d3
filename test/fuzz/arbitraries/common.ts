/**
 * Shared pieces of the fuzzers' generators: the seed, values of the wrong type, and a
 * mutation that takes a valid message and breaks one field of it (delete it, give it a
 * value of another type, or wrap it), so most generated messages are *near*-valid and get
 * past the first checks of a parser.
 */
import fc from 'fast-check';

/**
 * The run's seed: fixed, so `npm test` is deterministic; `FUZZ_SEED=<int>` varies it. Every
 * failure message names the seed so a run can be repeated exactly.
 */
export const FUZZ_SEED: number = (() => {
  const raw = process.env['FUZZ_SEED'];
  if (raw === undefined || raw === '') return 0x5eed_2026;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${JSON.stringify(raw)}`);
  return seed;
})();

export function reproduceHint(file: string): string {
  return `seed ${FUZZ_SEED} (repeat with FUZZ_SEED=${FUZZ_SEED} npx vitest run ${file})`;
}

/** Values of every JSON type (and then some), for fields that should have had another one. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 20 }),
  fc.constantFrom('', ' ', '0', '-1', 'NaN', 'null', 'undefined', '1e309', '\u0000', '\ud800'),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  fc.constant({ __proto__: null, toString: 1 }),
);

type Json = Record<string, unknown> | unknown[];

/** Every path to a value inside `value` (objects and arrays), outermost first. */
function paths(
  value: unknown,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  if (value === null || typeof value !== 'object') return out;
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  for (const [k, v] of entries) {
    const p = [...prefix, k];
    out.push(p);
    paths(v, p, out);
  }
  return out;
}

/**
 * A valid message with one field broken: removed, replaced by a value of another type, or
 * wrapped in an array. The message stays an object with its discriminator more often than
 * not, so the failure happens deep in the schema.
 */
export function mutated<T extends Json>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc
    .tuple(valid, fc.nat(), fc.constantFrom('delete', 'replace', 'wrap'), wrongValue)
    .map(([msg, n, op, value]) => {
      const copy = structuredClone(msg) as Json;
      const all = paths(copy);
      const path = all[n % Math.max(1, all.length)];
      if (path === undefined) return copy;
      let parent: Record<string | number, unknown> = copy as Record<string | number, unknown>;
      for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
      const last = path[path.length - 1]!;
      if (op === 'delete') delete parent[last];
      else if (op === 'replace') parent[last] = value;
      else parent[last] = [parent[last]];
      return copy;
    });
}

/** Text that is not JSON, or JSON that is not an object. */
export const notAMessage: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ maxLength: 40, unit: 'binary' }),
  fc.constantFrom(
    '',
    ' ',
    '\n',
    '\ufeff{}',
    'null',
    'true',
    '0',
    '-0',
    '1e400',
    '"event"',
    '[]',
    '[{}]',
    '{',
    '}',
    '{"',
    '{"event"',
    '{"type"',
    '{}}',
    '{} {}',
    'undefined',
    'NaN',
  ),
  fc
    .jsonValue({ maxDepth: 3 })
    .filter((v) => v === null || typeof v !== 'object' || Array.isArray(v))
    .map((v) => JSON.stringify(v)),
  fc.integer({ min: 1, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 1, max: 5_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
);

/** A valid JSON message cut short or with trailing garbage. */
export function broken(validText: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(validText, fc.nat(), fc.constantFrom('cut', 'append', 'flip')).map(([text, n, how]) => {
    const at = n % Math.max(1, text.length);
    if (how === 'cut') return text.slice(0, at);
    if (how === 'append') return `${text}${'}]",x'[n % 5]!}`;
    return `${text.slice(0, at)}${String.fromCharCode((text.charCodeAt(at) ^ 0x20) & 0x7f)}${text.slice(at + 1)}`;
  });
}

/** Objects with keys that trip naive code: prototype names and the discriminators in odd places. */
export function trickyObject(discriminator: string, known: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      `{"__proto__":{"${discriminator}":"${known[0]}"}}`,
      `{"${discriminator}":"__proto__"}`,
      `{"${discriminator}":"constructor"}`,
      `{"${discriminator}":"toString"}`,
      `{"${discriminator}":"hasOwnProperty"}`,
      `{"constructor":{"prototype":{"polluted":true}},"${discriminator}":"${known[0]}"}`,
      `{"${discriminator}":"${known[0]}","${discriminator}":"${known[1] ?? known[0]}"}`,
    ),
    fc.object({ maxDepth: 2, maxKeys: 4 }).map((o) => JSON.stringify(o)),
    fc
      .tuple(fc.constantFrom(...known), fc.object({ maxDepth: 2, maxKeys: 4 }))
      .map(([d, o]) => JSON.stringify({ ...o, [discriminator]: d })),
  );
}
