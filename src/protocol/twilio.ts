/**
 * Twilio Media Streams, both directions (bidirectional `<Connect><Stream>`).
 * Upstream: https://www.twilio.com/docs/voice/media-streams/websocket-messages (the messages,
 * `mark` and `clear`) and https://www.twilio.com/docs/voice/twiml/stream (`<Stream>` and its
 * `<Parameter>`s).
 *
 * Inbound messages are validated once here (zod; Twilio's own `media` text by the scanner in
 * twilio-media-fast.ts, held equal to the schema) and turned into {@link TwilioEvent}s. The
 * wire types keep fields as the wire spells them — `sequenceNumber`, `media.chunk` and
 * `media.timestamp` are strings — and only the event conversion turns them into numbers.
 * Outbound messages are built by the encoders at the bottom; they never send binary frames
 * and always carry the `streamSid` (Twilio error 31951 otherwise).
 */
import { z } from 'zod';

import { MAX_INBOUND_PAYLOAD_CHARS, scanTwilioMedia } from './twilio-media-fast.js';

/** Digits-only string, as Twilio sends counters and timestamps. */
const numericString = z.string().regex(/^\d{1,15}$/, 'must be a string of digits');

/**
 * Standard base64 (Twilio's payload alphabet). Empty payloads are allowed and carry no audio.
 * The schema's check; the media fast path checks the same language with `decodeStrictBase64`.
 */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export { MAX_INBOUND_PAYLOAD_CHARS };

export const ConnectedSchema = z.object({
  event: z.literal('connected'),
  protocol: z.string().optional(),
  version: z.string().optional(),
});

export const StartSchema = z.object({
  event: z.literal('start'),
  sequenceNumber: numericString.optional(),
  streamSid: z.string().min(1).max(64),
  start: z.object({
    streamSid: z.string().min(1).max(64).optional(),
    accountSid: z.string().max(64),
    callSid: z.string().min(1).max(64),
    tracks: z.array(z.string()).optional(),
    customParameters: z.record(z.string(), z.string()).optional(),
    mediaFormat: z.object({ encoding: z.string(), sampleRate: z.number(), channels: z.number() }).optional(),
  }),
});

export const MediaSchema = z.object({
  event: z.literal('media'),
  sequenceNumber: numericString.optional(),
  streamSid: z.string().optional(),
  media: z.object({
    track: z.string().optional(),
    chunk: numericString.optional(),
    timestamp: numericString,
    payload: z
      .string()
      .max(MAX_INBOUND_PAYLOAD_CHARS, 'payload longer than 1 s of audio')
      .regex(BASE64, 'payload is not base64'),
  }),
});

export const MarkSchema = z.object({
  event: z.literal('mark'),
  sequenceNumber: numericString.optional(),
  streamSid: z.string().optional(),
  mark: z.object({ name: z.string().max(256) }),
});

export const DtmfSchema = z.object({
  event: z.literal('dtmf'),
  sequenceNumber: numericString.optional(),
  streamSid: z.string().optional(),
  dtmf: z.object({ track: z.string().optional(), digit: z.string().regex(/^[0-9*#A-Da-dwW]$/, 'is not a DTMF digit') }),
});

export const StopSchema = z.object({
  event: z.literal('stop'),
  sequenceNumber: numericString.optional(),
  streamSid: z.string().optional(),
  stop: z.object({ accountSid: z.string().optional(), callSid: z.string().optional() }).optional(),
});

export const TwilioInboundSchema = z.discriminatedUnion('event', [
  ConnectedSchema,
  StartSchema,
  MediaSchema,
  MarkSchema,
  DtmfSchema,
  StopSchema,
]);

/** A Twilio → bridge message exactly as the wire spells it. */
export type TwilioInbound = z.infer<typeof TwilioInboundSchema>;
export type TwilioStart = z.infer<typeof StartSchema>;

/** Twilio → bridge, in the bridge's vocabulary. */
export type TwilioEvent =
  | { type: 'twilio.connected' }
  | {
      type: 'twilio.start';
      streamSid: string;
      callSid: string;
      accountSid: string;
      customParameters: Record<string, string>;
    }
  /** `payload` is raw μ-law 8 kHz; `timestampMs` is the stream's media clock */
  | { type: 'twilio.media'; timestampMs: number; payload: Buffer }
  | { type: 'twilio.mark'; name: string }
  | { type: 'twilio.dtmf'; digit: string }
  | { type: 'twilio.stop' };

export type TwilioParse = { ok: true; message: TwilioInbound; event: TwilioEvent } | { ok: false; reason: string };

/**
 * Parses one text frame from Twilio. Never throws; bad input gives a reason for the log.
 * Twilio's own `media` messages take the scanner (twilio-media-fast.ts); everything else, and
 * anything the scanner declines, takes {@link parseTwilioJson}, which gives the same result.
 */
export function parseTwilioMessage(text: string): TwilioParse {
  const scanned = scanTwilioMedia(text);
  if (scanned !== null) return scanned;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  return parseTwilioJson(json);
}

/**
 * The schema path: one message as a JSON value, validated by {@link TwilioInboundSchema}. The
 * reference that the media scanner is held equal to (test/unit/protocol/twilio-media-fast.test.ts).
 */
export function parseTwilioJson(json: unknown): TwilioParse {
  const parsed = TwilioInboundSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const event =
      typeof (json as { event?: unknown } | null)?.event === 'string' ? (json as { event: string }).event : null;
    if (issue.code === 'invalid_union' && event !== null)
      return { ok: false, reason: `unknown event ${JSON.stringify(event.slice(0, 40))}` };
    return { ok: false, reason: `${issue.path.join('.') || 'message'}: ${issue.message}` };
  }
  return { ok: true, message: parsed.data, event: toTwilioEvent(parsed.data) };
}

function toTwilioEvent(m: TwilioInbound): TwilioEvent {
  switch (m.event) {
    case 'connected':
      return { type: 'twilio.connected' };
    case 'start':
      return {
        type: 'twilio.start',
        streamSid: m.streamSid,
        callSid: m.start.callSid,
        accountSid: m.start.accountSid,
        customParameters: m.start.customParameters ?? {},
      };
    case 'media':
      return {
        type: 'twilio.media',
        timestampMs: Number(m.media.timestamp),
        payload: Buffer.from(m.media.payload, 'base64'),
      };
    case 'mark':
      return { type: 'twilio.mark', name: m.mark.name };
    case 'dtmf':
      return { type: 'twilio.dtmf', digit: m.dtmf.digit };
    case 'stop':
      return { type: 'twilio.stop' };
  }
}

/**
 * Builds bridge → Twilio messages for one stream. The `streamSid` is JSON-escaped once;
 * each media frame is then a template fill, not a `JSON.stringify` of a nested object (this
 * runs 50 times a second per call).
 */
export class TwilioEncoder {
  private readonly sid: string;

  constructor(streamSid: string) {
    this.sid = JSON.stringify(streamSid);
  }

  /** `media` with raw μ-law 8 kHz audio (no header). */
  media(mulaw: Uint8Array): string {
    const b64 = Buffer.from(mulaw.buffer, mulaw.byteOffset, mulaw.byteLength).toString('base64');
    return `{"event":"media","streamSid":${this.sid},"media":{"payload":"${b64}"}}`;
  }

  /** `mark`: Twilio echoes it when the audio queued before it has played (or was cleared). */
  mark(name: string): string {
    return `{"event":"mark","streamSid":${this.sid},"mark":{"name":${JSON.stringify(name)}}}`;
  }

  /** `clear`: drops all audio Twilio has buffered and echoes every pending mark. */
  clear(): string {
    return `{"event":"clear","streamSid":${this.sid}}`;
  }
}

/** Bridge → Twilio messages as objects (for fakes, tests and the recorder's readers). */
export type TwilioOutbound =
  | { event: 'media'; streamSid: string; media: { payload: string } }
  | { event: 'mark'; streamSid: string; mark: { name: string } }
  | { event: 'clear'; streamSid: string };

export const TwilioOutboundSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('media'), streamSid: z.string(), media: z.object({ payload: z.string() }) }),
  z.object({ event: z.literal('mark'), streamSid: z.string(), mark: z.object({ name: z.string() }) }),
  z.object({ event: z.literal('clear'), streamSid: z.string() }),
]);
