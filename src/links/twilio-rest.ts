/**
 * Twilio's REST API for live-call control (PROTOCOLS.md §2.9), through the `twilio`
 * package: hang up (`status=completed`) and transfer (replace the running TwiML with
 * `<Dial>`). A configurable base URL sends the package's requests to a proxy or, in tests,
 * to a local fake of Twilio's API; everything else (auth, form encoding) is the package's.
 */
import type { Twilio as TwilioClient } from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';

type RequestOptions<T> = RequestClient.RequestOptions<T>;

import { describeError } from '../util/errors.js';

export interface TwilioRest {
  hangUp(callSid: string): Promise<void>;
  transfer(callSid: string, to: string): Promise<void>;
  /** Places an outbound call (SPEC §13). @throws Error with Twilio's status and message, no credentials */
  createCall(call: OutboundCallRequest): Promise<{ callSid: string; status: string }>;
}

/**
 * One `POST /Calls.json` (PROTOCOLS §10.5; twilio-node `CallListInstanceCreateOptions`):
 * `url` is fetched at answer like an inbound webhook; `amdCallbackUrl` null = no machine
 * detection, else `MachineDetection=DetectMessageEnd` with `AsyncAmd=true`, so the call
 * connects at once and the verdict arrives later at that URL.
 */
export interface OutboundCallRequest {
  to: string;
  from: string;
  url: string;
  statusCallbackUrl: string;
  amdCallbackUrl: string | null;
}

/** Every progress step Twilio can report (default is `completed` only). */
const STATUS_EVENTS = ['initiated', 'ringing', 'answered', 'completed'];

export interface TwilioRestOptions {
  accountSid: string;
  authToken: string;
  /** Replaces `https://api.twilio.com` (tests, proxies); null = Twilio itself. */
  baseUrl: string | null;
  timeoutMs?: number;
}

const TWILIO_API_ORIGIN = 'https://api.twilio.com';

/**
 * The package's REST client (its HTTP stack is ~0.15 s of module loading: loaded on the first
 * request, not at start-up), sending to `baseUrl` instead of Twilio when one is set.
 */
async function restClient(options: TwilioRestOptions, timeoutMs: number): Promise<TwilioClient> {
  const { default: twilio } = await import('twilio');
  class RebasedRequestClient extends twilio.RequestClient {
    constructor(private readonly baseUrl: string) {
      super({ timeout: timeoutMs });
    }

    override request<TData>(opts: RequestOptions<TData>) {
      const uri = opts.uri.startsWith(TWILIO_API_ORIGIN)
        ? this.baseUrl + opts.uri.slice(TWILIO_API_ORIGIN.length)
        : opts.uri;
      return super.request<TData>({ ...opts, uri });
    }
  }
  const httpClient =
    options.baseUrl === null
      ? new twilio.RequestClient({ timeout: timeoutMs })
      : new RebasedRequestClient(options.baseUrl.replace(/\/+$/, ''));
  return twilio(options.accountSid, options.authToken, { httpClient });
}

/** Errors carry Twilio's status and message, never the credentials. */
export function createTwilioRest(options: TwilioRestOptions): TwilioRest {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let client: Promise<TwilioClient> | null = null;
  const run = async <T>(what: string, fn: (client: TwilioClient) => Promise<T>): Promise<T> => {
    try {
      return await fn(await (client ??= restClient(options, timeoutMs)));
    } catch (err) {
      const status = (err as { status?: number }).status;
      // eslint-disable-next-line preserve-caught-error -- no cause on purpose: Twilio's error can carry the credentials
      throw new Error(`Twilio ${what} failed${status ? ` (HTTP ${status})` : ''}: ${describeError(err).slice(0, 200)}`);
    }
  };
  return {
    hangUp: (callSid) =>
      run('hang-up', (client) => client.calls(callSid).update({ status: 'completed' })).then(() => undefined),
    transfer: (callSid, to) => {
      const vr = new VoiceResponse();
      vr.dial(to);
      return run('transfer', (client) => client.calls(callSid).update({ twiml: vr.toString() })).then(() => undefined);
    },
    createCall: async (call) => {
      const amd =
        call.amdCallbackUrl === null
          ? {}
          : {
              machineDetection: 'DetectMessageEnd',
              asyncAmd: 'true',
              asyncAmdStatusCallback: call.amdCallbackUrl,
              asyncAmdStatusCallbackMethod: 'POST',
            };
      const created = await run('call creation', (client) =>
        client.calls.create({
          to: call.to,
          from: call.from,
          url: call.url,
          method: 'POST',
          statusCallback: call.statusCallbackUrl,
          statusCallbackEvent: STATUS_EVENTS,
          statusCallbackMethod: 'POST',
          ...amd,
        }),
      );
      return { callSid: created.sid, status: created.status };
    },
  };
}
