/**
 * The media scanner (twilio-media-fast.ts) against the schema path (`parseTwilioJson`), on
 * generated text: Twilio's own spelling valid and damaged, media in other spellings, other
 * events, near-valid messages and garbage. For every text the scanner takes, the schema path
 * accepts it too and gives the same message and event; parseTwilioMessage gives the schema
 * path's answer for every text (same accept/reject, same reason).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { decodeStrictBase64 } from '../../../src/protocol/base64.js';
import { parseTwilioJson, parseTwilioMessage, type TwilioParse } from '../../../src/protocol/twilio.js';
import { MAX_INBOUND_PAYLOAD_CHARS, scanTwilioMedia } from '../../../src/protocol/twilio-media-fast.js';
import { broken, mutated, notAMessage, trickyObject } from '../../fuzz/arbitraries/common.js';

/** The schema path alone, from text. */
function reference(text: string): TwilioParse {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  return parseTwilioJson(json);
}

/** Buffers as hex: toEqual would walk them byte by byte, and the failure message says more. */
function comparable(result: TwilioParse): unknown {
  if (!result.ok || result.event.type !== 'twilio.media') return result;
  return { ...result, event: { ...result.event, payload: result.event.payload.toString('hex') } };
}

const REGEX = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ODD_CHARS = 'AZaz09+/=-_ \n\té\u0000!.%"\\'.split('');

const validPayload = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('base64')),
  fc.constant(Buffer.alloc(160, 0xff).toString('base64')),
);
/** valid base64, valid base64 with one character replaced, the length limit either side, or junk */
const payload = fc.oneof(
  { weight: 4, arbitrary: validPayload },
  fc
    .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat(), fc.constantFrom(...ODD_CHARS))
    .map(([b, pos, c]) => {
      const s = Buffer.from(b).toString('base64');
      const i = pos % s.length;
      return s.slice(0, i) + c + s.slice(i + 1);
    }),
  fc.constantFrom('A'.repeat(MAX_INBOUND_PAYLOAD_CHARS), 'A'.repeat(MAX_INBOUND_PAYLOAD_CHARS + 4), 'AAA', '===='),
  fc.string({ maxLength: 12 }),
);
const digits = fc.nat().map(String);
const nearDigits = fc.constantFrom('', '0'.repeat(15), '1'.repeat(15), '1'.repeat(16), '1a', ' 1', '+1', '-1', '1.5');
const plainString = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('inbound', 'outbound', 'MZ0123456789abcdef', '') },
  fc.constantFrom('in"bound', 'in\\bound', 'tab\tin', 'é', '\u0001', '\ud800'),
  fc.string({ maxLength: 36 }),
);

/** Twilio's spelling (its key order, no spaces), each field valid or near-valid, then maybe damaged as text. */
const twilioSpelling = fc
  .tuple(
    fc.oneof({ weight: 6, arbitrary: digits }, nearDigits),
    plainString,
    fc.oneof({ weight: 6, arbitrary: digits }, nearDigits),
    fc.oneof({ weight: 6, arbitrary: digits }, nearDigits),
    payload,
    plainString,
  )
  .map(
    ([seq, track, chunk, timestamp, body, sid]) =>
      `{"event":"media","sequenceNumber":${JSON.stringify(seq)},` +
      `"media":{"track":${JSON.stringify(track)},"chunk":${JSON.stringify(chunk)},` +
      `"timestamp":${JSON.stringify(timestamp)},"payload":${JSON.stringify(body)}},` +
      `"streamSid":${JSON.stringify(sid)}}`,
  );

/** Text edits Twilio never makes: a space, a key renamed, an escape, trailing bytes. */
const damaged = fc.oneof(
  broken(twilioSpelling),
  fc.tuple(twilioSpelling, fc.nat()).map(([t, n]) => `${t.slice(0, n % t.length)} ${t.slice(n % t.length)}`),
  twilioSpelling.map((t) => `${t.slice(0, -1)},"extra":1}`),
  twilioSpelling.map((t) => t.replace('"track"', '"track2"')),
  twilioSpelling.map((t) => t.replace('"media","seq', '"medi\\u0061","seq')),
  twilioSpelling.map((t) => `${t}\n`),
);

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
/** Valid media as objects: keys in any order, optional fields missing. */
const mediaObject = fc.record(
  {
    event: fc.constant('media'),
    sequenceNumber: maybe(digits),
    streamSid: maybe(fc.string({ maxLength: 34 })),
    media: fc.record(
      { track: maybe(fc.constantFrom('inbound', 'outbound')), chunk: maybe(digits), timestamp: digits, payload },
      { requiredKeys: ['timestamp', 'payload'] },
    ),
  },
  { requiredKeys: ['event', 'media'] },
);
const otherEvent = fc.oneof(
  fc.constant({ event: 'connected', protocol: 'Call', version: '1.0.0' }),
  fc.record({
    event: fc.constant('mark'),
    streamSid: fc.string({ maxLength: 8 }),
    mark: fc.record({ name: fc.string() }),
  }),
  fc.record({ event: fc.constant('dtmf'), dtmf: fc.record({ digit: fc.constantFrom('1', '#', 'x') }) }),
  fc.constant({ event: 'stop', streamSid: 'MZ1' }),
);

const text = fc.oneof(
  { weight: 5, arbitrary: twilioSpelling },
  { weight: 2, arbitrary: damaged },
  { weight: 2, arbitrary: mediaObject.map((m) => JSON.stringify(m)) },
  { weight: 1, arbitrary: mutated(mediaObject.map((m) => m as Record<string, unknown>)).map((m) => JSON.stringify(m)) },
  { weight: 1, arbitrary: otherEvent.map((m) => JSON.stringify(m)) },
  { weight: 1, arbitrary: notAMessage },
  { weight: 1, arbitrary: trickyObject('event', ['media', 'mark']) },
);

describe('the Twilio media scanner', () => {
  it('equals the schema path on 12 000 generated texts: valid, near-valid and garbage', () => {
    let runs = 0;
    let scanned = 0;
    let refused = 0;
    fc.assert(
      fc.property(text, (t) => {
        runs++;
        const slow = reference(t);
        if (!slow.ok) refused++;
        expect(comparable(parseTwilioMessage(t))).toEqual(comparable(slow));
        const scan = scanTwilioMedia(t);
        if (scan === null) return;
        scanned++;
        expect(comparable(scan)).toEqual(comparable(slow));
      }),
      { seed: 20_261_207, numRuns: 12_000 },
    );
    expect(runs).toBe(12_000);
    // the scanner is exercised, not bypassed; and much of the input is refused by both
    expect(scanned).toBeGreaterThan(1_000);
    expect(refused).toBeGreaterThan(3_000);
  }, 60_000); // 12 000 zod parses and generated texts up to 10 kB: several seconds on a loaded machine

  it("takes the real capture's media messages, and declines a space", () => {
    const frame = Buffer.alloc(160, 0x7f).toString('base64');
    const t =
      '{"event":"media","sequenceNumber":"2","media":{"track":"inbound","chunk":"1","timestamp":"135",' +
      `"payload":"${frame}"},"streamSid":"test_stream"}`;
    expect(comparable(scanTwilioMedia(t)!)).toEqual(comparable(reference(t)));
    expect(scanTwilioMedia(t.replace('"chunk"', ' "chunk"'))).toBeNull();
  });

  it('leaves the reason for a bad media message to the schema', () => {
    const bad = parseTwilioMessage(
      JSON.stringify({ event: 'media', media: { timestamp: '20', payload: 'not base64!' } }),
    );
    expect(bad).toEqual({ ok: false, reason: 'media.payload: payload is not base64' });
  });
});

describe('decodeStrictBase64', () => {
  it('accepts exactly the strict padded base64 language, and decodes it as Buffer.from does', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.constantFrom(...ODD_CHARS, 'Q', 'B'), { maxLength: 24 }).map((a) => a.join('')),
          payload,
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
