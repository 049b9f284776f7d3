/**
 * The media-stream gate (SPEC §5). An upgrade with a present but invalid
 * `X-Twilio-Signature` is refused with HTTP 403. After the upgrade, nothing but `connected`
 * and `start` is accepted; `start` must carry the one-time stream token that `/twilio/voice`
 * issued for its CallSid and parameters. Otherwise the socket is closed with 1008 — before
 * any realtime session is opened, so a stranger cannot spend the model budget.
 *
 * One stream per CallSid (SPEC §8): a `start` whose CallSid is already live is refused with
 * 1008 as well, and the live call never hears of it.
 *
 * With several instances (SPEC §14) a token is also claimed in the shared store (`tokenUses`):
 * the instance that claims it second refuses the stream as a replay. The socket is paused while
 * the claim is out and what was already read is handed to the call in order: no caller audio is lost.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

import { WebSocketServer, type WebSocket } from 'ws';

import { parseTwilioMessage, type TwilioEvent } from '../protocol/twilio.js';
import type { StreamTokens } from '../security/stream-token.js';
import { checkMediaUpgrade, type SignatureSettings } from '../security/twilio-signature.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { refuseUpgrade, type UpgradeHandler } from './server.js';
import { STREAM_PARAMETERS } from './twilio-routes.js';

/** Twilio sends `start` right after `connected`; a socket that says nothing valid for this long is closed. */
export const START_TIMEOUT_MS = 10_000;
/**
 * Largest inbound frame. Twilio's are ~300 B; 256 KiB leaves room for odd senders while an
 * oversized frame (a 2 MB garbage message) closes only its own socket (1009).
 */
export const MEDIA_MAX_PAYLOAD_BYTES = 256 * 1024;

export type StartEvent = Extract<TwilioEvent, { type: 'twilio.start' }>;

/** A stream whose `start` passed the gate. */
export interface AcceptedStream {
  ws: WebSocket;
  start: StartEvent;
  /** the `start` frame as received (for the recorder, which redacts it) */
  startText: string;
  profileKey: string;
  from: string;
  to: string;
}

export interface MediaGateDeps {
  signature: SignatureSettings;
  tokens: StreamTokens;
  clock: Clock;
  logger: Logger;
  /** called once per accepted stream; must take over the socket */
  onStream: (stream: AcceptedStream) => void;
  /** counts refusals by reason (metrics) */
  onRejected?: (reason: string) => void;
  /** true while draining: new streams are refused */
  isDraining?: () => boolean;
  /** true when a call with this CallSid is running: a second stream for it is refused */
  isLive?: (callSid: string) => boolean;
  /** false when MAX_CONCURRENT_CALLS leaves no room for this stream (closed with 1013, try again later) */
  canStart?: (callSid: string) => boolean;
  /**
   * Several instances: resolves true the first time any instance presents this token (a store
   * that cannot answer rejects, and the stream is refused as unverifiable).
   */
  claimToken?: (token: string) => Promise<boolean>;
}

export function mediaUpgradeHandler(deps: MediaGateDeps): UpgradeHandler {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MEDIA_MAX_PAYLOAD_BYTES, perMessageDeflate: false });

  const reject = (reason: string, fields: Record<string, unknown> = {}) => {
    deps.onRejected?.(reason);
    deps.logger.warn({ reason, ...fields }, 'media stream rejected');
  };

  return (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const decision = checkMediaUpgrade(deps.signature, req);
    if (!decision.ok) {
      reject(decision.reason, { peer: req.socket.remoteAddress });
      refuseUpgrade(socket, 403, 'Forbidden');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => awaitStart(ws, deps, reject));
  };
}

function awaitStart(
  ws: WebSocket,
  deps: MediaGateDeps,
  reject: (reason: string, fields?: Record<string, unknown>) => void,
): void {
  let settled = false;
  let ignored = 0;
  const timer = deps.clock.setTimer(START_TIMEOUT_MS, () => {
    if (settled) return;
    settled = true;
    reject('no_start');
    ws.close(1008, 'no valid start message');
  });
  const refuse = (reason: string, fields: Record<string, unknown> = {}, code = 1008) => {
    settled = true;
    deps.clock.clearTimer(timer);
    ws.off('message', onMessage);
    reject(reason, fields);
    ws.close(code, code === 1008 ? 'stream not authorised' : 'bridge is full');
  };
  const onMessage = (data: Buffer, isBinary: boolean) => {
    if (settled) return;
    const text = isBinary ? '' : data.toString('utf8');
    const parsed = parseTwilioMessage(text);
    if (!parsed.ok) {
      if (++ignored <= 3) deps.logger.warn({ reason: parsed.reason }, 'twilio message dropped before start');
      return;
    }
    if (parsed.event.type === 'twilio.connected') return;
    if (parsed.event.type !== 'twilio.start') {
      // media before start and the like: nothing to attach it to yet
      if (++ignored <= 3) deps.logger.warn({ event: parsed.event.type }, 'twilio message before start dropped');
      return;
    }
    const start = parsed.event;
    if (deps.isDraining?.() === true) {
      refuse('draining', { callSid: start.callSid });
      return;
    }
    const params = start.customParameters;
    const token = params[STREAM_PARAMETERS.token];
    const claims = {
      callSid: start.callSid,
      profile: params[STREAM_PARAMETERS.profile] ?? '',
      from: params[STREAM_PARAMETERS.from] ?? '',
      to: params[STREAM_PARAMETERS.to] ?? '',
    };
    if (token === undefined || token === '') {
      refuse('missing_token', { callSid: start.callSid });
      return;
    }
    const check = deps.tokens.verify(token, claims);
    if (!check.ok) {
      refuse(`token_${check.reason}`, { callSid: start.callSid });
      return;
    }
    if (deps.isLive?.(start.callSid) === true) {
      refuse('duplicate_call_sid', { callSid: start.callSid });
      return;
    }
    if (deps.canStart?.(start.callSid) === false) {
      refuse('capacity', { callSid: start.callSid }, 1013);
      return;
    }
    const accept = () =>
      deps.onStream({ ws, start, startText: text, profileKey: claims.profile, from: claims.from, to: claims.to });
    settled = true;
    deps.clock.clearTimer(timer);
    ws.off('message', onMessage);
    if (deps.claimToken === undefined) {
      accept();
      return;
    }
    // the socket is not read while the claim is out; frames already read are held
    ws.pause();
    const held: [Buffer, boolean][] = [];
    const hold = (data: Buffer, binary: boolean) => held.push([data, binary]);
    ws.on('message', hold);
    const claimed = (fresh: boolean | 'unverifiable') => {
      ws.off('message', hold);
      if (fresh !== true) {
        reject(fresh === false ? 'token_replayed' : 'token_unverifiable', { callSid: start.callSid });
        ws.close(1008, 'stream not authorised');
        return;
      }
      // A caller who hung up while the claim was out still gets its call, and its record, as
      // with one instance: the held `stop` ends it (a socket gone without one: the media timeout).
      // resume() reads again only from the next tick: the call has taken the socket by then
      ws.resume();
      accept();
      for (const [data, binary] of held) ws.emit('message', data, binary);
    };
    deps.claimToken(token).then(claimed, (err: unknown) => {
      deps.logger.error(
        { callSid: start.callSid, err: err instanceof Error ? err.message : String(err) },
        'stream token could not be checked against the shared store',
      );
      claimed('unverifiable');
    });
  };
  ws.on('message', onMessage);
  ws.on('error', (err) => deps.logger.debug({ err: { message: err.message } }, 'media socket error before start'));
  ws.on('close', () => {
    if (!settled) {
      settled = true;
      deps.clock.clearTimer(timer);
    }
  });
}
