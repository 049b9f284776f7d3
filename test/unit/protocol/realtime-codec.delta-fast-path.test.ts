/**
 * The hand-written path for audio and transcript deltas must accept exactly what their zod
 * schemas (`ids` + `delta: string`, indexes `z.number().int()`) accept, in both dialects,
 * and give the same events; anything else still gets the schema's reason.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import type { Dialect } from '../../../src/protocol/dialects.js';
import { parseServerEventObject } from '../../../src/protocol/realtime-codec.js';
import type { ModelEvent } from '../../../src/protocol/realtime.js';

const DeltaSchema = z.object({
  response_id: z.string(),
  item_id: z.string(),
  output_index: z.number().int(),
  content_index: z.number().int(),
  delta: z.string(),
});
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const WIRE_TYPES: Record<Dialect, { audio: string; transcript: string }> = {
  ga: { audio: 'response.output_audio.delta', transcript: 'response.output_audio_transcript.delta' },
  beta: { audio: 'response.audio.delta', transcript: 'response.audio_transcript.delta' },
};

/** What the schema path gives (ok or not, and the event). */
function expected(e: Record<string, unknown>, kind: 'audio' | 'transcript'): { ok: boolean; event?: ModelEvent } {
  const parsed = DeltaSchema.safeParse(e);
  if (!parsed.success) return { ok: false };
  const d = parsed.data;
  if (kind === 'transcript')
    return {
      ok: true,
      event: {
        type: 'model.transcriptDelta',
        responseId: d.response_id,
        itemId: d.item_id,
        contentIndex: d.content_index,
        delta: d.delta,
      },
    };
  if (!BASE64.test(d.delta)) return { ok: false };
  return {
    ok: true,
    event: {
      type: 'model.audioDelta',
      responseId: d.response_id,
      itemId: d.item_id,
      outputIndex: d.output_index,
      contentIndex: d.content_index,
      audio: Buffer.from(d.delta, 'base64'),
    },
  };
}

const junk = fc.constantFrom<unknown>(
  undefined,
  null,
  '',
  'x',
  0,
  1.5,
  -1,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  [],
  {},
  true,
  'AAA=',
  'A-B_',
  'QUJD',
);
const delta = fc.record({
  response_id: fc.oneof(fc.string({ maxLength: 8 }), junk),
  item_id: fc.oneof(fc.string({ maxLength: 8 }), junk),
  output_index: fc.oneof(fc.nat(5), junk),
  content_index: fc.oneof(fc.nat(5), junk),
  delta: fc.oneof(
    fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b).toString('base64')),
    fc.string({ maxLength: 10 }),
    junk,
  ),
});

describe('audio and transcript deltas (fast path)', () => {
  it.each(['ga', 'beta'] as const)('agree with the schema, valid or not (%s)', (dialect) => {
    fc.assert(
      fc.property(delta, fc.constantFrom('audio' as const, 'transcript' as const), (raw, kind) => {
        const e = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
        const result = parseServerEventObject({ type: WIRE_TYPES[dialect][kind], event_id: 'ev_1', ...e }, dialect);
        const want = expected(e, kind);
        expect(result.ok).toBe(want.ok);
        if (result.ok) {
          const hex = (ev: ModelEvent) =>
            ev.type === 'model.audioDelta' ? { ...ev, audio: ev.audio.toString('hex') } : ev;
          expect(hex(result.event)).toEqual(hex(want.event!));
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('reports a bad field with the schema reason', () => {
    expect(
      parseServerEventObject(
        {
          type: 'response.output_audio.delta',
          response_id: 'r',
          item_id: 'i',
          output_index: 0,
          content_index: 1.5,
          delta: '',
        },
        'ga',
      ),
    ).toEqual({
      ok: false,
      reason: 'response.output_audio.delta: content_index: Invalid input: expected int, received number',
    });
    expect(
      parseServerEventObject(
        {
          type: 'response.output_audio.delta',
          response_id: 'r',
          item_id: 'i',
          output_index: 0,
          content_index: 0,
          delta: 'A-B_',
        },
        'ga',
      ),
    ).toEqual({
      ok: false,
      reason: 'response.output_audio.delta: delta: not base64',
    });
  });
});
