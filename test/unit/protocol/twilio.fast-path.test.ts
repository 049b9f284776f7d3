/**
 * The hand-written paths for Twilio `media` and `mark` (and the strict base64 check under
 * them) must accept exactly what the zod schemas accept and give the same message and
 * event; everything else still gets the schema's reason.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { decodeStrictBase64 } from '../../../src/protocol/base64.js';
import {
  parseTwilioMessage,
  scanMediaMessage,
  TwilioInboundSchema,
  type TwilioEvent,
  type TwilioInbound,
} from '../../../src/protocol/twilio.js';

/** The schema path alone, as parseTwilioMessage worked before the fast paths. */
function reference(text: string): { ok: true; message: TwilioInbound; event: TwilioEvent } | { ok: false } {
  const parsed = TwilioInboundSchema.safeParse(JSON.parse(text));
  if (!parsed.success) return { ok: false };
  const m = parsed.data;
  if (m.event === 'media')
    return {
      ok: true,
      message: m,
      event: {
        type: 'twilio.media',
        timestampMs: Number(m.media.timestamp),
        payload: Buffer.from(m.media.payload, 'base64'),
      },
    };
  if (m.event === 'mark') return { ok: true, message: m, event: { type: 'twilio.mark', name: m.mark.name } };
  throw new Error('only media and mark are generated');
}

const REGEX = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ODD_CHARS = 'AZaz09+/=-_ \n\té\u0000!.%'.split('');

/** valid base64, valid base64 with one character replaced, or junk */
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('base64')),
  fc
    .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat(), fc.constantFrom(...ODD_CHARS))
    .map(([b, pos, c]) => {
      const s = Buffer.from(b).toString('base64');
      const i = pos % s.length;
      return s.slice(0, i) + c + s.slice(i + 1);
    }),
  fc.constant('A'.repeat(10_668)),
  fc.constant('A'.repeat(10_672)),
  fc.string({ maxLength: 12 }),
  fc.integer(),
);
const validDigits = fc.nat().map(String);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const validPayload = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('base64'));

const validMedia = fc.record(
  {
    event: fc.constant('media'),
    sequenceNumber: maybe(validDigits),
    streamSid: maybe(fc.string({ maxLength: 34 })),
    media: fc.record(
      {
        track: maybe(fc.constantFrom('inbound', 'outbound')),
        chunk: maybe(validDigits),
        timestamp: validDigits,
        payload: validPayload,
      },
      { requiredKeys: ['timestamp', 'payload'] },
    ),
  },
  { requiredKeys: ['event', 'media'] },
);
const validMark = fc.record(
  {
    event: fc.constant('mark'),
    sequenceNumber: maybe(validDigits),
    streamSid: maybe(fc.string({ maxLength: 34 })),
    mark: fc.record({ name: fc.string({ maxLength: 40 }) }),
  },
  { requiredKeys: ['event', 'mark'] },
);

/** junk for any field: wrong types, near-miss strings, over-long values; `DELETE` removes the field */
const DELETE = Symbol('delete');
const junk = fc.oneof(
  fc.constantFrom<unknown>(
    DELETE,
    null,
    12,
    '',
    '007',
    '1.5',
    '-3',
    '1e3',
    '1234567890123456',
    ' 12',
    'x'.repeat(257),
    'y'.repeat(256),
    [1, 2],
    {},
    'media',
    'mark',
  ),
  fc.string({ maxLength: 12 }),
  payload,
);
const PATHS = [
  'event',
  'sequenceNumber',
  'streamSid',
  'media',
  'media.track',
  'media.chunk',
  'media.timestamp',
  'media.payload',
  'media.extra',
  'mark',
  'mark.name',
  'extra',
];

function mutate(m: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(m);
  const [head, tail] = path.split('.') as [string, string | undefined];
  let target: Record<string, unknown> = copy;
  let key = head;
  if (tail !== undefined) {
    const inner = copy[head];
    if (typeof inner !== 'object' || inner === null) return copy;
    target = inner as Record<string, unknown>;
    key = tail;
  }
  if (value === DELETE) delete target[key];
  else target[key] = value;
  return copy;
}

const message = fc
  .tuple(fc.oneof(validMedia, validMark), fc.array(fc.tuple(fc.constantFrom(...PATHS), junk), { maxLength: 2 }))
  .map(([m, mutations]) =>
    mutations.reduce((acc, [path, value]) => mutate(acc, path, value), m as Record<string, unknown>),
  );

describe('parseTwilioMessage fast paths', () => {
  it('agree with the schema on media and mark messages, valid or not', () => {
    const accepted = { media: 0, mark: 0 };
    fc.assert(
      fc.property(message, (m) => {
        const wire = JSON.stringify(m);
        const fast = parseTwilioMessage(wire);
        const slow = reference(wire);
        expect(fast.ok).toBe(slow.ok);
        if (fast.ok) accepted[fast.message.event as 'media' | 'mark']++;
        if (fast.ok && slow.ok) {
          expect(fast.message).toEqual(slow.message);
          // Buffers compared as hex: toEqual walks them byte by byte
          const hex = (e: TwilioEvent) =>
            e.type === 'twilio.media' ? { ...e, payload: e.payload.toString('hex') } : e;
          expect(hex(fast.event)).toEqual(hex(slow.event));
        }
      }),
      { numRuns: 1500 },
    );
    // both kinds are accepted often enough to exercise the fast paths
    expect(accepted.media).toBeGreaterThan(30);
    expect(accepted.mark).toBeGreaterThan(30);
  });

  it('give the schema reason for a bad media message', () => {
    const bad = parseTwilioMessage(
      JSON.stringify({ event: 'media', media: { timestamp: '20', payload: 'not base64!' } }),
    );
    expect(bad).toEqual({ ok: false, reason: 'media.payload: payload is not base64' });
  });

  it('parse a Twilio frame as Twilio sends it', () => {
    const frame = Buffer.alloc(160, 0xff);
    const parsed = parseTwilioMessage(
      '{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","timestamp":"20",' +
        `"payload":"${frame.toString('base64')}"},"streamSid":"MZ1"}`,
    );
    expect(parsed).toEqual({
      ok: true,
      message: {
        event: 'media',
        sequenceNumber: '3',
        streamSid: 'MZ1',
        media: { track: 'inbound', chunk: '2', timestamp: '20', payload: frame.toString('base64') },
      },
      event: { type: 'twilio.media', timestampMs: 20, payload: frame },
    });
  });
});

/** Media messages spelled as Twilio spells them (its key order, no spaces), then maybe damaged as text. */
const twilioText = fc
  .tuple(
    fc.oneof(
      { arbitrary: validDigits, weight: 6 },
      fc.constantFrom('', '0'.repeat(15), '1'.repeat(16), '1a', ' 1', '+1'),
    ),
    fc.oneof(
      { arbitrary: fc.constantFrom('inbound', 'outbound'), weight: 6 },
      fc.constantFrom('', 'in"bound', 'in\\bound', 'tab\tin', 'é'),
      fc.string({ maxLength: 8 }),
    ),
    fc.oneof({ arbitrary: validDigits, weight: 6 }, fc.constantFrom('', '12x')),
    fc.oneof({ arbitrary: validDigits, weight: 6 }, fc.constantFrom('', '-1', '1.5', '9'.repeat(16))),
    fc.oneof(
      { arbitrary: validPayload, weight: 6 },
      payload.filter((p): p is string => typeof p === 'string'),
    ),
    fc.oneof(
      { arbitrary: fc.constantFrom('MZ0123456789abcdef', ''), weight: 6 },
      fc.constantFrom('MZ"x', 'MZ\\x', 'MZ\u0001'),
      fc.string({ maxLength: 36 }),
    ),
    fc.oneof(
      { arbitrary: fc.constant((t: string) => t), weight: 6 },
      fc.nat().map((n) => (t: string) => t.slice(0, n % t.length)),
      fc.nat().map((n) => (t: string) => `${t.slice(0, n % t.length)} ${t.slice(n % t.length)}`),
      fc.constant((t: string) => `${t} `),
      fc.constant((t: string) => `${t.slice(0, -1)},"extra":1}`),
    ),
  )
  .map(([seq, track, chunk, timestamp, body, sid, damage]) =>
    damage(
      `{"event":"media","sequenceNumber":${JSON.stringify(seq)},` +
        `"media":{"track":${JSON.stringify(track)},"chunk":${JSON.stringify(chunk)},` +
        `"timestamp":${JSON.stringify(timestamp)},"payload":${JSON.stringify(body)}},` +
        `"streamSid":${JSON.stringify(sid)}}`,
    ),
  );

function referenceOrInvalid(text: string): ReturnType<typeof reference> {
  try {
    return reference(text);
  } catch {
    return { ok: false };
  }
}

describe('the media scanner (no JSON.parse)', () => {
  it('gives what JSON.parse and the schema give, for every text it takes; the rest falls through', () => {
    let scanned = 0;
    fc.assert(
      fc.property(twilioText, (text) => {
        const scan = scanMediaMessage(text);
        const parsed = parseTwilioMessage(text);
        const slow = referenceOrInvalid(text);
        expect(parsed.ok).toBe(slow.ok);
        if (scan === null) return;
        scanned++;
        expect(scan.ok && slow.ok).toBe(true);
        if (!scan.ok || !slow.ok) return;
        expect(scan.message).toEqual(slow.message);
        const hex = (e: TwilioEvent) => (e.type === 'twilio.media' ? { ...e, payload: e.payload.toString('hex') } : e);
        expect(hex(scan.event)).toEqual(hex(slow.event));
      }),
      { numRuns: 3000 },
    );
    // the scanner is exercised, not bypassed
    expect(scanned).toBeGreaterThan(100);
  });

  it("takes the real capture's media messages", () => {
    const frame = Buffer.alloc(160, 0x7f).toString('base64');
    const text =
      '{"event":"media","sequenceNumber":"2","media":{"track":"inbound","chunk":"1","timestamp":"135",' +
      `"payload":"${frame}"},"streamSid":"test_stream"}`;
    expect(scanMediaMessage(text)).not.toBeNull();
    expect(scanMediaMessage(text.replace('"chunk"', ' "chunk"'))).toBeNull();
  });
});

describe('decodeStrictBase64', () => {
  it('accepts exactly the strict padded base64 language, and decodes it as Buffer.from does', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.constantFrom(...ODD_CHARS, 'Q', 'B'), { maxLength: 24 }).map((a) => a.join('')),
          payload.filter((p) => typeof p === 'string'),
        ),
        (s) => {
          const decoded = decodeStrictBase64(s);
          expect(decoded !== null).toBe(REGEX.test(s));
          if (decoded !== null) expect(decoded.equals(Buffer.from(s, 'base64'))).toBe(true);
        },
      ),
      { numRuns: 3_000 },
    );
  });
});
