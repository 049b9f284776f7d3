/**
 * Twilio's REST API for live-call control (PROTOCOLS.md §2.9), through the `twilio`
 * package: hang up (`status=completed`) and transfer (replace the running TwiML with
 * `<Dial>`). A configurable base URL sends the package's requests to a proxy or, in tests,
 * to a local fake of Twilio's API; everything else (auth, form encoding) is the package's.
 */
import twilio from 'twilio';
import type RequestClientNs from 'twilio/lib/base/RequestClient.js';

type RequestOptions<T> = RequestClientNs.RequestOptions<T>;

import { describeError } from '../util/errors.js';

export interface TwilioRest {
  hangUp(callSid: string): Promise<void>;
  transfer(callSid: string, to: string): Promise<void>;
}

export interface TwilioRestOptions {
  accountSid: string;
  authToken: string;
  /** Replaces `https://api.twilio.com` (tests, proxies); null = Twilio itself. */
  baseUrl: string | null;
  timeoutMs?: number;
}

const TWILIO_API_ORIGIN = 'https://api.twilio.com';

class RebasedRequestClient extends twilio.RequestClient {
  constructor(
    private readonly baseUrl: string,
    timeoutMs: number,
  ) {
    super({ timeout: timeoutMs });
  }

  override request<TData>(opts: RequestOptions<TData>) {
    const uri = opts.uri.startsWith(TWILIO_API_ORIGIN)
      ? this.baseUrl + opts.uri.slice(TWILIO_API_ORIGIN.length)
      : opts.uri;
    return super.request<TData>({ ...opts, uri });
  }
}

/** Errors carry Twilio's status and message, never the credentials. */
export function createTwilioRest(options: TwilioRestOptions): TwilioRest {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const httpClient =
    options.baseUrl === null
      ? new twilio.RequestClient({ timeout: timeoutMs })
      : new RebasedRequestClient(options.baseUrl.replace(/\/+$/, ''), timeoutMs);
  const client = twilio(options.accountSid, options.authToken, { httpClient });
  const run = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      const status = (err as { status?: number }).status;
      // eslint-disable-next-line preserve-caught-error -- no cause on purpose: Twilio's error can carry the credentials
      throw new Error(`Twilio ${what} failed${status ? ` (HTTP ${status})` : ''}: ${describeError(err).slice(0, 200)}`);
    }
  };
  return {
    hangUp: (callSid) => run('hang-up', () => client.calls(callSid).update({ status: 'completed' })),
    transfer: (callSid, to) => {
      const vr = new twilio.twiml.VoiceResponse();
      vr.dial(to);
      return run('transfer', () => client.calls(callSid).update({ twiml: vr.toString() }));
    },
  };
}
