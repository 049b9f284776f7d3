/**
 * The delta fast path (realtime-delta-fast.ts) against the schema path
 * (`parseGaEventWithSchema`), on generated server events in both dialects: deltas valid,
 * near-valid (a field missing, of another type, a non-integer or unsafe index, audio that is
 * not base64) and other events and garbage. Whenever the fast path answers, it gives the
 * schema path's answer: same accept/reject, same event, same reason.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { serverEventToGa } from '../../../src/protocol/dialects.js';
import { parseGaEventWithSchema } from '../../../src/protocol/realtime-codec.js';
import { parseDeltaFast } from '../../../src/protocol/realtime-delta-fast.js';
import { parseServerEventObject, type Dialect, type ParseResult } from '../../../src/protocol/realtime.js';
import { mutated, wrongValue } from '../../fuzz/arbitraries/common.js';

const WIRE_TYPES: Record<Dialect, { audio: string; transcript: string }> = {
  ga: { audio: 'response.output_audio.delta', transcript: 'response.output_audio_transcript.delta' },
  beta: { audio: 'response.audio.delta', transcript: 'response.audio_transcript.delta' },
};

/** Buffers as hex: toEqual would walk them byte by byte, and the failure message says more. */
function comparable(result: ParseResult): unknown {
  if (!result.ok || result.event.type !== 'model.audioDelta') return result;
  return { ...result, event: { ...result.event, audio: result.event.audio.toString('hex') } };
}

const junk = fc.oneof(
  wrongValue,
  fc.constantFrom<unknown>(
    1.5,
    -1,
    2 ** 53,
    -(2 ** 53),
    Number.MAX_SAFE_INTEGER,
    1e300,
    'AAA=',
    'A-B_',
    'QUJD',
    '====',
  ),
);
const base64 = fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString('base64'));
const validDelta = (dialect: Dialect) =>
  fc.record({
    type: fc.constantFrom(WIRE_TYPES[dialect].audio, WIRE_TYPES[dialect].transcript),
    event_id: fc.constantFrom('event_1', 'ev'),
    response_id: fc.string({ maxLength: 8 }),
    item_id: fc.string({ maxLength: 8 }),
    output_index: fc.nat(5),
    content_index: fc.nat(5),
    delta: fc.oneof(base64, fc.string({ maxLength: 10 })),
  });
/** Each field valid or junk, independently: most are refused somewhere. */
const nearDelta = (dialect: Dialect) =>
  fc.record({
    type: fc.constantFrom(WIRE_TYPES[dialect].audio, WIRE_TYPES[dialect].transcript),
    response_id: fc.oneof(fc.string({ maxLength: 8 }), junk),
    item_id: fc.oneof(fc.string({ maxLength: 8 }), junk),
    output_index: fc.oneof(fc.nat(5), junk),
    content_index: fc.oneof(fc.nat(5), junk),
    delta: fc.oneof(base64, fc.string({ maxLength: 10 }), junk),
  });
const otherEvent = fc.oneof(
  fc.record({ type: fc.constantFrom('response.output_audio.done', 'response.created', 'x.unknown', 'constructor') }),
  fc.dictionary(fc.string({ maxLength: 12 }), wrongValue, { maxKeys: 5 }).map((o) => ({ ...o, type: 'response.done' })),
);

const event = (dialect: Dialect) =>
  fc.oneof(
    { weight: 3, arbitrary: validDelta(dialect) },
    { weight: 3, arbitrary: nearDelta(dialect) },
    { weight: 2, arbitrary: mutated(validDelta(dialect)) },
    { weight: 1, arbitrary: otherEvent },
  );

describe('the delta fast path', () => {
  it.each(['ga', 'beta'] as const)(
    'equals the schema path on 10 000 generated %s events',
    (dialect) => {
      let fast = 0;
      let accepted = 0;
      let refused = 0;
      fc.assert(
        fc.property(event(dialect), (raw) => {
          // as a socket delivers it: parsed JSON, no undefined fields, no shared references
          const wire = JSON.parse(JSON.stringify(raw)) as unknown;
          if (typeof wire !== 'object' || wire === null || Array.isArray(wire)) return;
          // an event without a non-empty string type is refused before either path
          const type = (wire as { type?: unknown }).type;
          if (typeof type !== 'string' || type === '') return;
          const whole = parseServerEventObject(wire, dialect);
          const ga = serverEventToGa(wire as Record<string, unknown>, dialect);
          const slow = parseGaEventWithSchema(ga);
          expect(comparable(whole)).toEqual(comparable(slow));
          const quick = parseDeltaFast(ga);
          if (quick === null) return;
          fast++;
          if (quick.ok) accepted++;
          else refused++;
          expect(comparable(quick)).toEqual(comparable(slow));
        }),
        { seed: 20_261_207, numRuns: 10_000 },
      );
      // the fast path answers often, both ways, rather than declining everything
      expect(fast).toBeGreaterThan(3_000);
      expect(accepted).toBeGreaterThan(2_000);
      expect(refused).toBeGreaterThan(100);
    },
    60_000,
  ); // 10 000 zod parses: a few seconds on a loaded machine

  it('leaves the reason for a bad field to the schema, and gives the schema reason for bad audio', () => {
    const delta = { type: 'response.output_audio.delta', response_id: 'r', item_id: 'i', output_index: 0 };
    expect(parseDeltaFast({ ...delta, content_index: 1.5, delta: '' })).toBeNull();
    expect(parseServerEventObject({ ...delta, content_index: 1.5, delta: '' }, 'ga')).toEqual({
      ok: false,
      reason: 'response.output_audio.delta: content_index: Invalid input: expected int, received number',
    });
    expect(parseDeltaFast({ ...delta, content_index: 0, delta: 'A-B_' })).toEqual({
      ok: false,
      reason: 'response.output_audio.delta: delta: not base64',
    });
  });
});
