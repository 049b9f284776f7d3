import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { RecordingLine } from '../../../src/protocol/recording.js';
import {
  compareDirection,
  DEFAULT_TOLERANCES,
  diffKinds,
  jsonDifferences,
  tokenize,
} from '../../../src/recording/replay-compare.js';

/** Length of a longest common subsequence, by the textbook DP (the oracle). */
function lcs(a: readonly string[], b: readonly string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    let diag = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = x === b[j - 1] ? diag + 1 : Math.max(row[j]!, row[j - 1]!);
      diag = up;
    }
  }
  return row[b.length]!;
}

const media = (t: number): RecordingLine => ({
  t,
  dir: 'twilio_out',
  msg: { event: 'media', streamSid: 'MZ', media: { payload: Buffer.alloc(160, 0xff).toString('base64') } },
});
const mark = (t: number, name: string): RecordingLine => ({
  t,
  dir: 'twilio_out',
  msg: { event: 'mark', streamSid: 'MZ', mark: { name } },
});
const clear = (t: number): RecordingLine => ({ t, dir: 'twilio_out', msg: { event: 'clear', streamSid: 'MZ' } });
const truncate = (t: number, ms: number): RecordingLine => ({
  t,
  dir: 'model_in',
  msg: { type: 'conversation.item.truncate', item_id: 'item_1', content_index: 0, audio_end_ms: ms },
});

describe('diffKinds (Myers)', () => {
  it('is a valid edit script of minimal length (property, against an LCS oracle)', () => {
    const kinds = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 30 });
    fc.assert(
      fc.property(kinds, kinds, (a, b) => {
        const edits = diffKinds(a, b);
        let x = 0;
        let y = 0;
        let same = 0;
        for (const e of edits) {
          if (e.op === 'same') {
            expect([e.a, e.b]).toEqual([x, y]);
            expect(a[x]).toBe(b[y]);
            x++;
            y++;
            same++;
          } else if (e.op === 'del') expect(e.a).toBe(x++);
          else expect(e.b).toBe(y++);
        }
        expect([x, y]).toEqual([a.length, b.length]);
        expect(same).toBe(lcs(a, b));
      }),
      { numRuns: 300 },
    );
  });
});

describe('tokenize and compareDirection', () => {
  it('collapses media and marks into runs, one per response', () => {
    const created: RecordingLine = {
      t: 500,
      dir: 'model_out',
      msg: { type: 'response.created', response: { id: 'r2' } },
    };
    const lines = [media(0), media(1), mark(1, 'm1'), media(2), created, media(600), mark(600, 'm2'), clear(700)];
    expect(tokenize(lines, 'twilio_out', 8).map((t) => [t.kind, t.amount, t.marks])).toEqual([
      ['media', 3, 1],
      ['media', 1, 1],
      ['clear', 1, 0],
    ]);
  });

  it('names a truncate whose audio_end_ms moved beyond the tolerance, with times and both values', () => {
    const diffs = compareDirection([truncate(1000, 1390)], [truncate(1010, 1470)], 'model_in', 8, DEFAULT_TOLERANCES);
    expect(diffs.map((d) => d.text)).toEqual(['truncate item_1 audio_end_ms 1470 (recorded 1390, tolerance 40)']);
    expect(compareDirection([truncate(1000, 1390)], [truncate(1000, 1420)], 'model_in', 8, DEFAULT_TOLERANCES)).toEqual(
      [],
    );
  });

  it('reports a missing clear and a late one', () => {
    expect(
      compareDirection([media(0), clear(900)], [media(0)], 'twilio_out', 8, DEFAULT_TOLERANCES).map((d) => d.text),
    ).toEqual(['missing clear (recorded at +900 ms)']);
    expect(
      compareDirection([clear(900)], [clear(1000)], 'twilio_out', 8, DEFAULT_TOLERANCES).map((d) => d.text),
    ).toEqual(['clear at +1000 ms (recorded +900 ms, tolerance 40)']);
  });

  it('compares session configuration field by field, ignoring event ids', () => {
    expect(
      jsonDifferences({ a: { b: 1, c: [1, 2] }, event_id: 'x' }, { a: { b: 2, c: [1, 2] }, event_id: 'y' }),
    ).toEqual(['a.b 2 (recorded 1)']);
  });
});
