/**
 * The bridge's outbound calls (SPEC §13): places them through Twilio's REST API within the
 * limits, never twice for one `Idempotency-Key`, and keeps what each call was asked to do
 * until its media stream starts (profile, machine detection, voicemail message, variables).
 * Twilio's status callbacks and AMD verdicts for these calls come through here.
 *
 * Limits: `OUTBOUND_MAX_CONCURRENT` counts calls placed and not yet over (ringing or live,
 * and requests waiting for their turn); `OUTBOUND_CPS` spaces call creations `1000 / cps` ms
 * apart: a request waits for its turn (Twilio itself queues, PROTOCOLS §10.5) and is answered
 * with the real CallSid once created.
 */
import { DEFAULTS_KEY, lookupProfile, type OutboundSettings, type Profile, type Profiles } from '../config/numbers.js';
import type { CallOutcome } from '../call/events.js';
import type { TwilioRest } from '../links/twilio-rest.js';
import { maskPhone } from '../security/redact.js';
import type { CallStore } from '../store/call-store.js';
import type { NewEvent } from '../store/events-repo.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { mayDial, type DialRequest } from './dial-policy.js';

export interface OutboundLimits {
  maxConcurrent: number;
  callsPerSecond: number;
  /** OUTBOUND_ALLOW prefixes; null = the `from` number's country */
  allow: readonly string[] | null;
  /**
   * A placed call whose end never reached us (a lost status callback) frees its place after
   * this long: Twilio's longest ring (600 s) plus MAX_CALL_DURATION_S.
   */
  staleAfterMs: number;
}

export interface OutboundDeps {
  /** null: no TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN, outbound calls are refused (503) */
  rest: TwilioRest | null;
  store: CallStore;
  clock: Clock;
  logger: Logger;
  profiles: () => Profiles;
  limits: OutboundLimits;
  /** the `call.ended` outbox row of a call that was never answered (SPEC §10), if its profile sends events */
  endedEvent: (call: OutboundCall, atMs: number) => NewEvent | undefined;
  /** hands an AMD verdict to the live call; false when the call is not live here (yet) */
  deliverVerdict: (callSid: string, answeredBy: string) => boolean;
}

/** What an outbound call was asked to do; read when its stream starts. */
export interface OutboundCall {
  callSid: string;
  profile: Profile;
  variables: Record<string, string>;
  /** an AMD verdict that arrived before the stream started */
  answeredBy: string | null;
}

export type PlaceResult =
  | { ok: true; callSid: string; status: string; repeated: boolean }
  | { ok: false; status: 400 | 403 | 404 | 409 | 429 | 502 | 503; error: string; retryAfterS?: number };

/** Twilio call statuses that end a call without it ever being answered, and their outcomes (SPEC §13). */
const UNANSWERED: Readonly<Record<string, CallOutcome>> = {
  'no-answer': 'no_answer',
  busy: 'busy',
  failed: 'failed',
  canceled: 'canceled',
};

/** A request waiting for its CPS slot is told to come back after this long at the concurrency cap. */
const RETRY_AFTER_S = 5;

export class OutboundCalls {
  private readonly calls = new Map<string, OutboundCall>();
  /** places taken: calls placed and not over, plus requests on their way to Twilio */
  private taken = 0;
  private readonly open = new Set<string>();
  private nextSlotMs = 0;
  private readonly inFlight = new Map<string, Promise<PlaceResult>>();

  constructor(private readonly deps: OutboundDeps) {}

  /** Live and ringing outbound calls, and requests not yet placed. */
  get active(): number {
    return this.taken;
  }

  /**
   * Places a call (`baseUrl`: PUBLIC_URL or the request's own base, where Twilio reaches us).
   * The same `key` answers with the first call's CallSid, never a second dial, while the first
   * request is still running too.
   */
  async place(request: DialRequest, key: string | null, baseUrl: string): Promise<PlaceResult> {
    if (key === null) return this.create(request, null, baseUrl);
    const running = this.inFlight.get(key);
    if (running !== undefined) return repeat(await running);
    const first = this.placeOnce(request, key, baseUrl);
    this.inFlight.set(key, first);
    try {
      return await first;
    } finally {
      this.inFlight.delete(key);
    }
  }

  private async placeOnce(request: DialRequest, key: string, baseUrl: string): Promise<PlaceResult> {
    const earlier = await this.deps.store.outboundCallForKey(key);
    if (earlier !== null) return { ok: true, callSid: earlier, status: 'queued', repeated: true };
    return this.create(request, key, baseUrl);
  }

  private async create(request: DialRequest, key: string | null, baseUrl: string): Promise<PlaceResult> {
    const { rest, limits, logger } = this.deps;
    if (rest === null)
      return {
        ok: false,
        status: 503,
        error:
          'outbound calls need TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (and TWILIO_API_BASE_URL for the simulator)',
      };
    if (!mayDial(request.to, request.from, limits.allow))
      return {
        ok: false,
        status: 403,
        error: `to: ${request.to} is outside OUTBOUND_ALLOW (${limits.allow?.join(',') ?? 'the from country'})`,
      };
    const profile = this.profileOf(request);
    if (!profile.ok) return profile;
    if (this.taken >= limits.maxConcurrent)
      return {
        ok: false,
        status: 429,
        error: `OUTBOUND_MAX_CONCURRENT (${limits.maxConcurrent}) outbound calls are under way`,
        retryAfterS: RETRY_AFTER_S,
      };
    this.taken++;
    let placed = false;
    try {
      await this.turn();
      const outbound = profile.value.outbound;
      const settings: OutboundSettings = {
        greeting: outbound?.greeting ?? null,
        machineDetection: request.machineDetection ?? outbound?.machineDetection ?? 'voicemail',
        voicemailMessage: request.voicemailMessage ?? outbound?.voicemailMessage ?? null,
      };
      const created = await rest.createCall({
        to: request.to,
        from: request.from,
        url: `${baseUrl}/twilio/voice`,
        statusCallbackUrl: `${baseUrl}/twilio/status`,
        amdCallbackUrl: settings.machineDetection === 'off' ? null : `${baseUrl}/twilio/amd`,
      });
      const { callSid } = created;
      placed = true;
      this.open.add(callSid);
      this.deps.clock.setTimer(limits.staleAfterMs, () => this.ended(callSid));
      this.calls.set(callSid, {
        callSid,
        profile: { ...profile.value, outbound: settings },
        variables: request.variables,
        answeredBy: null,
      });
      const { store, clock } = this.deps;
      store.startCall({
        callSid,
        from: request.from,
        to: request.to,
        profile: profile.value.key,
        startedAtMs: clock.now(),
        direction: 'outbound',
      });
      if (key !== null) {
        store.rememberOutbound(key, callSid, clock.now());
        // answered only once the key is on disk: a restart right after must still find it
        await store.flush(2_000);
      }
      logger.info(
        { callSid, to: maskPhone(request.to), machineDetection: settings.machineDetection },
        'outbound call placed',
      );
      return { ok: true, callSid, status: created.status, repeated: false };
    } catch (err) {
      logger.warn({ to: maskPhone(request.to), error: (err as Error).message }, 'outbound call not placed');
      return { ok: false, status: 502, error: (err as Error).message };
    } finally {
      if (!placed) this.taken--;
    }
  }

  /** The profile a request names, or the `from` number's. */
  private profileOf(
    request: DialRequest,
  ): { ok: true; value: Profile } | { ok: false; status: 404 | 403; error: string } {
    const profiles = this.deps.profiles();
    if (request.profile !== null) {
      const named = request.profile === DEFAULTS_KEY ? profiles.defaults : profiles.byNumber.get(request.profile);
      return named !== undefined
        ? { ok: true, value: named }
        : { ok: false, status: 404, error: `profile: ${request.profile} is not a number in the numbers file` };
    }
    const lookup = lookupProfile(profiles, request.from);
    return lookup.kind === 'profile'
      ? { ok: true, value: lookup.profile }
      : { ok: false, status: 403, error: `from: ${request.from} is not in the numbers file and reject_unknown is set` };
  }

  /** Waits for this request's OUTBOUND_CPS slot. */
  private turn(): Promise<void> {
    const { clock, limits } = this.deps;
    const now = clock.now();
    const at = Math.max(now, this.nextSlotMs);
    this.nextSlotMs = at + 1000 / limits.callsPerSecond;
    if (at <= now) return Promise.resolve();
    return new Promise((resolve) => clock.setTimer(at - now, resolve));
  }

  /** The outbound call with this CallSid, if this bridge placed it. */
  get(callSid: string): OutboundCall | null {
    return this.calls.get(callSid) ?? null;
  }

  /** A call status callback: an unanswered end becomes the call's outcome; any end frees its place. */
  onStatus(callSid: string, status: string): void {
    if (!this.open.has(callSid)) return;
    const outcome = UNANSWERED[status];
    const call = this.calls.get(callSid);
    if (outcome !== undefined && call !== undefined) {
      const atMs = this.deps.clock.now();
      this.deps.store.finishCall(callSid, outcome, status, atMs, this.deps.endedEvent(call, atMs));
    }
    if (outcome !== undefined || status === 'completed') this.ended(callSid);
  }

  /** Twilio's AMD verdict (`POST /twilio/amd`): to the live call, or kept for its start. */
  onVerdict(callSid: string, answeredBy: string): void {
    const call = this.calls.get(callSid);
    if (call === undefined) return;
    // on the record beside the call statuses, where `npm run dial` and the console show it
    this.deps.store.addStatusEvent(callSid, {
      kind: 'call',
      status: 'amd',
      detail: answeredBy,
      atMs: this.deps.clock.now(),
    });
    if (!this.deps.deliverVerdict(callSid, answeredBy)) call.answeredBy = answeredBy;
  }

  /** The call is over (its stream ended, or Twilio said so). */
  ended(callSid: string): void {
    if (!this.open.delete(callSid)) return;
    this.taken--;
    this.calls.delete(callSid);
  }
}

function repeat(result: PlaceResult): PlaceResult {
  return result.ok ? { ...result, repeated: true } : result;
}
