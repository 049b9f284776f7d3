/**
 * The messages Twilio opens a media stream with (PROTOCOLS §2): `connected`, then `start`.
 * One spelling for every simulated Twilio — the phone, the load bench's lean phone and the
 * tests' raw media stream.
 */

export interface StreamIds {
  accountSid: string;
  streamSid: string;
  callSid: string;
}

export const CONNECTED_MESSAGE = { event: 'connected', protocol: 'Call', version: '1.0.0' } as const;

/** The `start` payload for a stream with these ids and TwiML `<Parameter>`s. */
export function startBody(ids: StreamIds, customParameters: Record<string, string>): object {
  return {
    accountSid: ids.accountSid,
    streamSid: ids.streamSid,
    callSid: ids.callSid,
    tracks: ['inbound'],
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    customParameters,
  };
}

/** The whole `start` message. */
export function startMessage(ids: StreamIds, customParameters: Record<string, string>, sequenceNumber: number): object {
  return {
    event: 'start',
    sequenceNumber: String(sequenceNumber),
    start: startBody(ids, customParameters),
    streamSid: ids.streamSid,
  };
}
