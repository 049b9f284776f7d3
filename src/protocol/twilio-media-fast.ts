/**
 * The fast path for Twilio's `media` message (50 a second per call, most of what a bridge
 * reads): the message read straight from its text, without `JSON.parse` or zod. Pure.
 *
 * It takes exactly the text Twilio sends — keys in Twilio's order, no whitespace —
 * `{"event":"media","sequenceNumber":"…","media":{…},"streamSid":"…"}` with the `media`
 * object `{"track":"…","chunk":"…","timestamp":"…","payload":"…"}`. Every value is a JSON
 * string without escapes (digits where the schema wants digits; the payload is strict
 * base64, whose alphabet has no `"`, `\` or control characters), so the text between the
 * quotes IS the value. Anything else — another key order, whitespace, an escape, a missing
 * field, a bad value — is declined (null) and takes the schema path (`parseTwilioJson` in
 * twilio.ts), which is the reference: for every text this accepts, the schema path gives the
 * same message and event (test/unit/protocol/twilio-media-fast.test.ts checks it on generated
 * messages, valid, near-valid and garbage).
 */
import { decodeStrictBase64 } from './base64.js';
import type { TwilioInbound, TwilioParse } from './twilio.js';

/** Longest inbound payload accepted: 1 s of μ-law (Twilio sends 20 ms = 216 base64 characters). */
export const MAX_INBOUND_PAYLOAD_CHARS = 10_668;

/** Twilio's `media` message as the schema path would parse it, or null to take that path. */
export function scanTwilioMedia(text: string): TwilioParse | null {
  if (!text.startsWith(SCAN_HEAD)) return null;
  let at = SCAN_HEAD.length;
  const seqEnd = digitsEnd(text, at);
  if (seqEnd < 0 || !text.startsWith(SCAN_TRACK, seqEnd)) return null;
  const sequenceNumber = text.slice(at, seqEnd);
  at = seqEnd + SCAN_TRACK.length;
  const trackEnd = plainStringEnd(text, at);
  if (trackEnd < 0 || !text.startsWith(SCAN_CHUNK, trackEnd)) return null;
  const track = text.slice(at, trackEnd);
  at = trackEnd + SCAN_CHUNK.length;
  const chunkEnd = digitsEnd(text, at);
  if (chunkEnd < 0 || !text.startsWith(SCAN_TIMESTAMP, chunkEnd)) return null;
  const chunk = text.slice(at, chunkEnd);
  at = chunkEnd + SCAN_TIMESTAMP.length;
  const timestampEnd = digitsEnd(text, at);
  if (timestampEnd < 0 || !text.startsWith(SCAN_PAYLOAD, timestampEnd)) return null;
  const timestamp = text.slice(at, timestampEnd);
  const payloadStart = timestampEnd + SCAN_PAYLOAD.length;
  const payloadEnd = text.indexOf('"', payloadStart);
  if (payloadEnd < 0 || payloadEnd - payloadStart > MAX_INBOUND_PAYLOAD_CHARS || !text.startsWith(SCAN_SID, payloadEnd))
    return null;
  at = payloadEnd + SCAN_SID.length;
  const sidEnd = plainStringEnd(text, at);
  if (sidEnd !== text.length - 2 || text.charCodeAt(sidEnd + 1) !== 0x7d) return null;
  const payload = text.slice(payloadStart, payloadEnd);
  const audio = decodeStrictBase64(payload);
  if (audio === null) return null;
  const message: TwilioInbound = {
    event: 'media',
    media: { timestamp, payload, track, chunk },
    sequenceNumber,
    streamSid: text.slice(at, sidEnd),
  };
  return { ok: true, message, event: { type: 'twilio.media', timestampMs: Number(timestamp), payload: audio } };
}

const SCAN_HEAD = '{"event":"media","sequenceNumber":"';
const SCAN_TRACK = '","media":{"track":"';
const SCAN_CHUNK = '","chunk":"';
const SCAN_TIMESTAMP = '","timestamp":"';
const SCAN_PAYLOAD = '","payload":"';
const SCAN_SID = '"},"streamSid":"';

/** End of 1–15 ASCII digits starting at `from` (the schema's `^\d{1,15}$`), or −1. */
function digitsEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    i++;
  }
  return i === from || i - from > 15 ? -1 : i;
}

/**
 * Index of the `"` closing a JSON string body that starts at `from`, or −1 if it has an
 * escape or a control character first.
 */
function plainStringEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i;
    if (c === 0x5c || c < 0x20) return -1;
  }
  return -1;
}
