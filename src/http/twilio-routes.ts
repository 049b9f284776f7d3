/**
 * Twilio's webhooks (SPEC §3): `POST /twilio/voice` answers an incoming call with TwiML
 * that connects a bidirectional media stream; `POST /twilio/status` takes call and stream
 * status callbacks. Both are signature-checked first; a failed check answers 403 and does
 * nothing else.
 *
 * A call is given its stream token only when there is room for it (MAX_CONCURRENT_CALLS;
 * otherwise the polite refusal, or `<Redirect>` to DRAIN_REDIRECT_URL) and only once per
 * CallSid (a replayed webhook gets `<Hangup/>`, SPEC §8).
 *
 * Outbound calls (SPEC §13) use the same webhook: Twilio fetches it at answer with
 * `Direction=outbound-api`, `From` = our number, so the profile is the one the dial request
 * chose, else the `From` number's. `POST /twilio/amd` takes the asynchronous answering-machine
 * verdict (`AccountSid`, `CallSid`, `AnsweredBy`, `MachineDetectionDuration`; PROTOCOLS §10.5),
 * signed like every webhook.
 */
import express, { type Request, type Response, type Router } from 'express';
import VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';

import type { Lookup, Profile } from '../config/numbers.js';
import type { IssuedCallLedger } from '../security/issued-calls.js';
import { maskPhone } from '../security/redact.js';
import type { StreamTokens } from '../security/stream-token.js';
import {
  checkWebhookRequest,
  publicBaseUrl,
  toWebSocketBase,
  type AuthDecision,
  type SignatureSettings,
} from '../security/twilio-signature.js';
import type { Logger } from '../util/logger.js';
import type { CallAdmission } from './call-admission.js';

/** Path of the media WebSocket named in the TwiML. */
export const MEDIA_PATH = '/twilio/media';

/**
 * Names of the `<Parameter>`s the stream carries; Twilio hands them back in
 * `start.customParameters`. The token vouches for the other three (see stream-token.ts).
 */
export const STREAM_PARAMETERS = { profile: 'profile', from: 'from', to: 'to', token: 'token' } as const;

/** Twilio CallSids are `CA` + 32 hex digits; accept any short alphanumeric id so test tools and SIP legs work. */
const CALL_SID = /^[A-Za-z0-9]{2,64}$/;

export interface TwilioRoutesDeps {
  signature: SignatureSettings;
  lookup: (to: string) => Lookup;
  tokens: StreamTokens;
  logger: Logger;
  /** true while draining: new calls are refused (or redirected) */
  isDraining: () => boolean;
  /** places for new calls (MAX_CONCURRENT_CALLS) */
  admission: CallAdmission;
  /** CallSids that already hold a stream token */
  issued: IssuedCallLedger;
  /** while draining or full, new calls are `<Redirect>`ed here (DRAIN_REDIRECT_URL) instead of refused */
  redirectUrl?: string | null;
  /** counts rejected webhooks (metrics `bridge_webhook_rejections_total{reason}`) */
  onRejected?: (reason: string) => void;
  /** a validated status callback (call or stream) */
  onStatus?: (params: Record<string, string>) => void;
  /** the profile an outbound call placed by this bridge was given (SPEC §13); null: not ours */
  outboundProfile?: (callSid: string) => Profile | null;
  /** a validated AMD verdict (`POST /twilio/amd`) */
  onAnsweredBy?: (callSid: string, answeredBy: string) => void;
  /** a call was answered with a stream for `profile` (starts its per-call context request, SPEC §10) */
  onAnswered?: (call: { callSid: string; from: string; to: string; profile: Profile }) => void;
}

const REFUSALS = {
  draining: 'Sorry, our assistant is restarting right now. Please call again in a minute. Goodbye.',
  capacity: 'Sorry, all our lines are busy right now. Please call again in a few minutes. Goodbye.',
} as const;

/** What a caller hears when the bridge cannot take the call: a short apology, then the line closes. */
function politeRefusal(why: keyof typeof REFUSALS): string {
  const vr = new VoiceResponse();
  vr.say(REFUSALS[why]);
  vr.hangup();
  return vr.toString();
}

/** The answer to a replayed webhook: no token, no words (the real call, if any, goes on). */
function hangupTwiml(): string {
  const vr = new VoiceResponse();
  vr.hangup();
  return vr.toString();
}

/** TwiML sending new calls to another bridge (DRAIN_REDIRECT_URL) while this one drains. */
export function redirectTwiml(url: string): string {
  const vr = new VoiceResponse();
  vr.redirect({ method: 'POST' }, url);
  return vr.toString();
}

function formParams(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (body === null || typeof body !== 'object') return out;
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.map(String).join(',');
  }
  return out;
}

const WEBHOOK_REFUSALS: Record<Exclude<AuthDecision, { ok: true }>['reason'], string> = {
  missing_signature: 'X-Twilio-Signature is missing',
  bad_signature: 'X-Twilio-Signature does not validate for this URL',
  not_loopback: 'local mode (no TWILIO_AUTH_TOKEN) accepts unsigned webhooks from this machine only',
  forwarded: 'local mode (no TWILIO_AUTH_TOKEN) accepts no webhook through a proxy or tunnel',
};

export function twilioRoutes(deps: TwilioRoutesDeps): Router {
  const router = express.Router();
  // Twilio signs the raw parameter values; the urlencoded parser keeps them byte-exact.
  router.use('/twilio', express.urlencoded({ extended: false, limit: '64kb' }));

  const gate = (req: Request, res: Response, route: string): Record<string, string> | null => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const decision = checkWebhookRequest(deps.signature, req, req.originalUrl, body);
    if (!decision.ok) {
      deps.onRejected?.(decision.reason);
      deps.logger.warn({ route, reason: decision.reason, peer: req.socket.remoteAddress }, 'webhook rejected');
      res.status(403).json({ error: WEBHOOK_REFUSALS[decision.reason] });
      return null;
    }
    return formParams(body);
  };

  const refuse = (res: Response, why: keyof typeof REFUSALS) => {
    res.type('text/xml').send(deps.redirectUrl ? redirectTwiml(deps.redirectUrl) : politeRefusal(why));
  };

  router.post('/twilio/voice', async (req, res) => {
    const params = gate(req, res, 'voice');
    if (params === null) return;
    const callSid = params['CallSid'] ?? '';
    const from = params['From'] ?? '';
    const to = params['To'] ?? '';
    if (!CALL_SID.test(callSid)) {
      deps.onRejected?.('bad_request');
      res.status(400).json({ error: 'CallSid is missing or malformed' });
      return;
    }
    const log = deps.logger.child({ callSid, from: maskPhone(from), to: maskPhone(to) });
    if (deps.isDraining()) {
      log.info('call refused: draining');
      refuse(res, 'draining');
      return;
    }
    const placed = deps.outboundProfile?.(callSid) ?? null;
    const outbound = placed !== null || (params['Direction'] ?? '').startsWith('outbound');
    const lookup: Lookup = placed !== null ? { kind: 'profile', profile: placed } : deps.lookup(outbound ? from : to);
    if (lookup.kind === 'reject') {
      log.info('call rejected: number not configured and reject_unknown is set');
      const vr = new VoiceResponse();
      vr.reject();
      res.type('text/xml').send(vr.toString());
      return;
    }
    const place = deps.admission.reserve(callSid);
    if (place === 'full') {
      deps.onRejected?.('capacity');
      log.warn({ maxCalls: deps.admission.maxCalls }, 'call refused: MAX_CONCURRENT_CALLS reached');
      refuse(res, 'capacity');
      return;
    }
    let fresh = false;
    try {
      fresh = place === 'ok' && (await deps.issued.claim(callSid));
    } finally {
      if (place === 'ok' && !fresh) deps.admission.release(callSid);
    }
    if (!fresh) {
      deps.onRejected?.('duplicate_call_sid');
      log.warn('call refused: this CallSid already holds a stream token (replayed webhook)');
      res.type('text/xml').send(hangupTwiml());
      return;
    }
    const profile = lookup.profile.key;
    const token = deps.tokens.issue({ callSid, profile, from, to });
    const base = publicBaseUrl(req, deps.signature);
    const vr = new VoiceResponse();
    const stream = vr.connect().stream({
      url: `${toWebSocketBase(base)}${MEDIA_PATH}`,
      statusCallback: `${base}/twilio/status`,
      statusCallbackMethod: 'POST',
    });
    stream.parameter({ name: STREAM_PARAMETERS.profile, value: profile });
    stream.parameter({ name: STREAM_PARAMETERS.from, value: from });
    stream.parameter({ name: STREAM_PARAMETERS.to, value: to });
    stream.parameter({ name: STREAM_PARAMETERS.token, value: token });
    log.info({ profile: maskPhone(profile) || profile }, 'call answered with media stream');
    deps.onAnswered?.({ callSid, from, to, profile: lookup.profile });
    res.type('text/xml').send(vr.toString());
  });

  router.post('/twilio/amd', (req, res) => {
    const params = gate(req, res, 'amd');
    if (params === null) return;
    const callSid = params['CallSid'] ?? '';
    const answeredBy = params['AnsweredBy'] ?? '';
    if (!CALL_SID.test(callSid) || !/^[a-z_]{1,32}$/.test(answeredBy)) {
      res.status(400).json({ error: 'CallSid or AnsweredBy is missing or malformed' });
      return;
    }
    deps.onAnsweredBy?.(callSid, answeredBy);
    res.status(204).end();
  });

  router.post('/twilio/status', (req, res) => {
    const params = gate(req, res, 'status');
    if (params === null) return;
    deps.onStatus?.(params);
    res.status(204).end();
  });

  return router;
}
