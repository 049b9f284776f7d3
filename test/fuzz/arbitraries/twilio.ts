/**
 * Generated frames for a Twilio media socket (PROTOCOLS §2.5): valid messages, near-valid
 * ones (a field missing, of the wrong type or wrapped; strings where Twilio has numbers and
 * numbers where it has strings; odd and invalid base64; huge strings), messages out of
 * place (duplicate `start`, `connected` mid-stream, marks nobody sent, `stop` mid-response),
 * and things that are not messages at all (non-JSON, JSON that is not an object, binary
 * frames, text frames that are not UTF-8, frames over the size limit).
 *
 * Text may hold two placeholders the fuzzer fills at send time: `@@SID@@` (the stream's real
 * `streamSid`) and `@@TS@@` (the stream's media clock, so valid audio arrives in order).
 */
import fc from 'fast-check';

import { broken, mutated, notAMessage, trickyObject, wrongValue } from './common.js';

export interface TwilioFrame {
  /** which generator made it (for failure reports and the mix statistics) */
  label: string;
  data: string | Buffer;
  binary: boolean;
}

const sid = fc.constantFrom('@@SID@@', '@@SID@@', '@@SID@@', 'MZ00000000000000000000000000000000', '', 'x'.repeat(200));
const counter = fc.oneof(
  fc.integer({ min: 1, max: 100_000 }).map(String),
  fc.constantFrom('0', '1', '999999999999999'),
);
const timestamp = fc.oneof(
  { weight: 16, arbitrary: fc.constant('@@TS@@') },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 10_000_000 }).map(String) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '0',
      '999999999999999',
      '1000000000000000',
      '-20',
      '20.5',
      '1e3',
      ' 20',
      '',
      '0x14',
      '٢٠',
      '00000000000000020',
    ),
  },
);

/** μ-law bytes as base64: mostly a 20 ms frame, sometimes any length, odd ones included. */
const payload = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.uint8Array({ minLength: 160, maxLength: 160 }).map((b) => Buffer.from(b).toString('base64')),
  },
  {
    weight: 6,
    arbitrary: fc.uint8Array({ minLength: 0, maxLength: 1_200 }).map((b) => Buffer.from(b).toString('base64')),
  },
  { weight: 2, arbitrary: fc.constant(Buffer.alloc(160, 0xff).toString('base64')) },
);
const badPayload = fc.oneof(
  fc.constantFrom('abc', 'a===', '====', '=', 'YWJj\n', 'YW Jj', '-_-_', 'YWJj=', 'YWJjZA=', '%%%%', 'é', 'YWJj\u0000'),
  fc.string({ maxLength: 64 }),
  fc.base64String({ maxLength: 64 }).map((s) => `${s}A`),
  // valid base64, but more than 1 s of audio (the schema's limit) and up to ~150 kB
  fc.integer({ min: 10_672, max: 150_000 }).map((n) => 'A'.repeat(n - (n % 4))),
);

const validMedia = fc.record({
  event: fc.constant('media'),
  sequenceNumber: counter,
  streamSid: sid,
  media: fc.record({
    track: fc.constantFrom('inbound', 'outbound', 'inbound_track'),
    chunk: counter,
    timestamp,
    payload,
  }),
});
const validMark = fc.record({
  event: fc.constant('mark'),
  sequenceNumber: counter,
  streamSid: sid,
  mark: fc.record({
    name: fc.oneof(
      fc.string({ maxLength: 40 }),
      // names shaped like the bridge's own (`g<generation>:m<seq>:<ms>`), most unknown, some real
      fc.tuple(fc.nat(3), fc.nat(400), fc.nat(20_000)).map(([g, m, ms]) => `g${g}:m${m}:${ms}`),
      fc.constantFrom('', '__proto__', 'constructor', 'g0:m1:60', 'g-1:m-1:NaN', 'x'.repeat(256)),
    ),
  }),
});
const validDtmf = fc.record({
  event: fc.constant('dtmf'),
  sequenceNumber: counter,
  streamSid: sid,
  dtmf: fc.record({
    track: fc.constant('inbound_track'),
    digit: fc.oneof(fc.constantFrom(...'0123456789*#ABCDw'), fc.string({ maxLength: 3 })),
  }),
});
const validStart = fc.record({
  event: fc.constant('start'),
  sequenceNumber: counter,
  streamSid: sid,
  start: fc.record({
    streamSid: sid,
    accountSid: fc.constant(`AC${'0'.repeat(32)}`),
    callSid: fc.oneof(fc.constant(`CA${'1'.repeat(32)}`), fc.string({ minLength: 1, maxLength: 64 })),
    tracks: fc.constant(['inbound']),
    mediaFormat: fc.record({
      encoding: fc.constantFrom('audio/x-mulaw', 'audio/x-alaw', ''),
      sampleRate: fc.constantFrom(8000, 16000, 0),
      channels: fc.constantFrom(1, 2),
    }),
    customParameters: fc.dictionary(
      fc.constantFrom('token', 'profile', 'to', 'from', 'x'),
      fc.string({ maxLength: 30 }),
      { maxKeys: 4 },
    ),
  }),
});
const validStop = fc.record({
  event: fc.constant('stop'),
  sequenceNumber: counter,
  streamSid: sid,
  stop: fc.record({ accountSid: fc.constant(`AC${'0'.repeat(32)}`), callSid: fc.string({ maxLength: 34 }) }),
});
const connected = fc.constantFrom({ event: 'connected', protocol: 'Call', version: '1.0.0' }, { event: 'connected' });

const KNOWN_EVENTS = ['media', 'mark', 'dtmf', 'start', 'stop', 'connected'] as const;

const json = (arb: fc.Arbitrary<unknown>, label: string) =>
  arb.map((m): TwilioFrame => ({ label, data: JSON.stringify(m), binary: false }));
const text = (arb: fc.Arbitrary<string>, label: string) =>
  arb.map((data): TwilioFrame => ({ label, data, binary: false }));

/**
 * One generated frame. Weights: about half valid or near-valid media (the bulk of real
 * traffic), the rest spread over every other kind. A valid `stop` (which ends the call) is
 * about one frame in 600; a frame over the size limit or not UTF-8 one in ~1,000.
 */
export const twilioFrame: fc.Arbitrary<TwilioFrame> = fc.oneof(
  { weight: 600, arbitrary: json(validMedia, 'media') },
  { weight: 240, arbitrary: json(mutated(validMedia), 'media~') },
  {
    weight: 120,
    arbitrary: json(
      fc.tuple(validMedia, badPayload).map(([m, p]) => ({ ...m, media: { ...m.media, payload: p } })),
      'media/bad-base64',
    ),
  },
  {
    weight: 40,
    arbitrary: json(
      validMedia.map((m) => ({
        ...m,
        sequenceNumber: Number(m.sequenceNumber) || 1,
        media: { ...m.media, chunk: 7, timestamp: 20 },
      })),
      'media/numbers',
    ),
  },
  { weight: 120, arbitrary: json(validMark, 'mark') },
  { weight: 50, arbitrary: json(mutated(validMark), 'mark~') },
  { weight: 50, arbitrary: json(validDtmf, 'dtmf') },
  { weight: 30, arbitrary: json(mutated(validDtmf), 'dtmf~') },
  { weight: 30, arbitrary: json(validStart, 'start/duplicate') },
  { weight: 30, arbitrary: json(mutated(validStart), 'start~') },
  { weight: 20, arbitrary: json(connected, 'connected') },
  { weight: 1, arbitrary: json(validStop, 'stop') },
  { weight: 3, arbitrary: json(mutated(validStop), 'stop~') },
  {
    weight: 60,
    arbitrary: json(
      fc.record({
        event: fc.oneof(
          fc.string({ maxLength: 20 }),
          fc.constantFrom('Media', 'MEDIA', 'media ', 'clear', 'mark.echo', 'stopped', ''),
        ),
        streamSid: sid,
      }),
      'unknown-event',
    ),
  },
  { weight: 30, arbitrary: json(fc.record({ event: wrongValue, streamSid: sid }), 'event-wrong-type') },
  { weight: 100, arbitrary: text(notAMessage, 'not-a-message') },
  {
    weight: 80,
    arbitrary: text(
      broken(fc.oneof(validMedia, validMark, validStop, validStart).map((m) => JSON.stringify(m))),
      'broken-json',
    ),
  },
  { weight: 40, arbitrary: text(trickyObject('event', KNOWN_EVENTS), 'tricky-object') },
  // a valid message with an extra field nested thousands deep (the schemas ignore unknown fields)
  {
    weight: 10,
    arbitrary: text(
      fc
        .tuple(fc.oneof(validMedia, validMark, validDtmf, connected), fc.integer({ min: 1, max: 20_000 }))
        .map(([m, depth]) => `${JSON.stringify(m).slice(0, -1)},"extra":${'['.repeat(depth)}${']'.repeat(depth)}}`),
      'deep-extra-field',
    ),
  },
  {
    weight: 16,
    arbitrary: text(
      fc.integer({ min: 10_000, max: 200_000 }).map((n) => JSON.stringify({ event: 'x'.repeat(n) })),
      'huge-event-name',
    ),
  },
  {
    weight: 16,
    arbitrary: text(
      fc
        .integer({ min: 1_000, max: 200_000 })
        .map((n) => JSON.stringify({ event: 'mark', mark: { name: 'm'.repeat(n) } })),
      'huge-mark-name',
    ),
  },
  {
    weight: 40,
    arbitrary: fc
      .uint8Array({ maxLength: 400 })
      .map((b): TwilioFrame => ({ label: 'binary', data: Buffer.from(b), binary: true })),
  },
  {
    weight: 10,
    arbitrary: validMedia.map((m): TwilioFrame => ({
      label: 'binary-json',
      data: Buffer.from(JSON.stringify(m)),
      binary: true,
    })),
  },
  // ends the call (1009): one frame over the 256 KiB limit
  {
    weight: 1,
    arbitrary: fc.integer({ min: 262_145, max: 600_000 }).map((n): TwilioFrame => ({
      label: 'oversized',
      data: `{"event":"media","pad":"${'x'.repeat(n)}"}`,
      binary: false,
    })),
  },
  // ends the call (1007): a text frame that is not UTF-8
  {
    weight: 1,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 16 }).map((b): TwilioFrame => ({
      label: 'invalid-utf8',
      data: Buffer.concat([Buffer.from('{"event":"'), Buffer.from(b), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
      binary: false,
    })),
  },
);
