/**
 * A local Twilio for outbound calls (SPEC §13; `npm run twilio-sim`, and the tests' fake). It
 * speaks the slice of Twilio's REST API the bridge uses and then behaves as Twilio does:
 *
 * - `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` (form-encoded, HTTP Basic
 *   `AccountSid:AuthToken`) → `201` with a Call resource (`sid`, `status: "queued"`,
 *   `direction: "outbound-api"`, …); errors are Twilio's JSON shape `{code, message,
 *   more_info, status}` (REST API: Calls resource, "Create a Call"; PROTOCOLS §2.9, §10.5);
 * - `POST …/Calls/{CallSid}.json` with `Status=completed|canceled` (hang up), or `Twiml` / `Url`
 *   (a transfer: the stream ends and the call leaves the simulator);
 * - call progress: `StatusCallback` receives `initiated`, `ringing`, `answered` (`CallStatus`
 *   `in-progress`) and `completed` (or `no-answer` / `busy` / `failed`), each with `CallSid`,
 *   `AccountSid`, `From`, `To`, `Direction`, `ApiVersion`, `CallbackSource`, `SequenceNumber`,
 *   `Timestamp` and, at the end, `CallDuration` ("Call status callbacks", StatusCallbackEvent);
 * - at answer: the voice `Url` gets the signed webhook (`CallStatus=in-progress`,
 *   `Direction=outbound-api`), its `<Connect><Stream>` is opened by the simulated phone, and
 *   the callee's audio plays (`callee-audio.ts`);
 * - with `MachineDetection=DetectMessageEnd` and `AsyncAmd=true`, `AsyncAmdStatusCallback`
 *   receives `AccountSid`, `CallSid`, `AnsweredBy`, `MachineDetectionDuration` ("Answering
 *   Machine Detection": a person ≈2.5 s after the answer, a machine after its beep).
 *
 * Every callback carries `X-Twilio-Signature` made with the auth token over the exact URL it
 * posts to, as Twilio does.
 *
 * Sources: Call resource, https://www.twilio.com/docs/voice/api/call (create, update, statuses,
 * CPS queueing); Answering Machine Detection, https://www.twilio.com/docs/voice/answering-machine-detection
 * (`MachineDetection`, `AsyncAmd`, `AsyncAmdStatusCallback`, `AnsweredBy` values); warning 21262,
 * https://www.twilio.com/docs/api/errors/21262 (AMD without a callback URL).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import express, { type Request, type Response } from 'express';
import twilio from 'twilio';

import type { Clock } from '../util/clock.js';
import { machineAudio, personAudio, type CalleeAudio } from './callee-audio.js';
import { SimulatedPhone } from './phone.js';
import { parseStreamTwiml } from './twiml.js';

/** Who picks up: a person, an answering machine, or nobody (Twilio's unanswered statuses). */
export type CalleeKind = 'person' | 'machine' | 'no-answer' | 'busy' | 'failed';
export const CALLEE_KINDS: readonly CalleeKind[] = ['person', 'machine', 'no-answer', 'busy', 'failed'];

export interface TwilioSimOptions {
  accountSid: string;
  authToken: string;
  clock: Clock;
  host?: string;
  /** 0 = any free port */
  port?: number;
  /** who answers a number (default: a person) */
  calleeFor?: (to: string) => CalleeKind;
  /** a person's audio (default `personAudio()`) */
  personAudio?: CalleeAudio;
  /** ms of ringing before the callee answers (or does not) */
  ringMs?: number;
  /** ms after the answer at which AMD says `human` */
  humanVerdictMs?: number;
  /** ms after the beep at which AMD says `machine_end_beep` */
  machineVerdictMs?: number;
  /** a person hangs up this long after answering (the call's own end usually comes first) */
  personHangUpMs?: number;
  /** progress, for the CLI */
  onProgress?: (callSid: string, what: string) => void;
}

/** One simulated call, as a test sees it. */
export interface SimCall {
  callSid: string;
  to: string;
  from: string;
  callee: CalleeKind;
  /** every StatusCallback sent: `CallStatus` values in order */
  statuses: string[];
  /** the AMD verdict sent, if any */
  answeredBy: string | null;
  audio: CalleeAudio | null;
  /** ms from the answer to the first assistant audio the callee received; null = none */
  firstAssistantAudioMs: number | null;
  /** ms from the answer to when the AMD verdict was posted */
  verdictAtMs: number | null;
  /** who ended it: the bridge (REST or media socket) or the callee */
  endedBy: 'bridge' | 'callee' | 'unanswered' | null;
  /** resolves when the call is over (after its `completed` callback) */
  done: Promise<SimCall>;
  phone: SimulatedPhone | null;
}

interface CallState {
  call: SimCall;
  params: Record<string, string>;
  sequence: number;
  answeredAt: number | null;
  finish: () => void;
  timers: ReturnType<Clock['setTimer']>[];
  over: boolean;
}

const DEFAULTS = { ringMs: 400, humanVerdictMs: 2_500, machineVerdictMs: 300, personHangUpMs: 12_000 };

function twilioError(res: Response, status: number, code: number, message: string): void {
  res.status(status).json({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
}

export class TwilioSim {
  private readonly calls = new Map<string, CallState>();
  private server: Server | null = null;

  private constructor(private readonly options: TwilioSimOptions) {}

  static async start(options: TwilioSimOptions): Promise<TwilioSim> {
    const sim = new TwilioSim(options);
    const app = express();
    app.disable('x-powered-by');
    app.use(express.urlencoded({ extended: false, limit: '64kb' }));
    const base = '/2010-04-01/Accounts/:accountSid';
    app.post(`${base}/Calls.json`, (req, res) => sim.createCall(req, res));
    app.post(`${base}/Calls/:callSid.json`, (req, res) => sim.updateCall(req, res));
    app.use((_req, res) => twilioError(res, 404, 20404, 'The requested resource was not found'));
    const server = app.listen(options.port ?? 0, options.host ?? '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    sim.server = server;
    return sim;
  }

  /** `http://127.0.0.1:<port>`: the bridge's TWILIO_API_BASE_URL. */
  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://${this.options.host ?? '127.0.0.1'}:${port}`;
  }

  /** The call with this sid, once created. */
  call(callSid: string): SimCall | null {
    return this.calls.get(callSid)?.call ?? null;
  }

  async close(): Promise<void> {
    for (const state of this.calls.values()) await this.end(state, 'callee');
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private authorised(req: Request, res: Response): boolean {
    const { accountSid, authToken } = this.options;
    const expected = Buffer.from(`Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`);
    const given = Buffer.from(req.headers.authorization ?? '');
    const ok = given.length === expected.length && timingSafeEqual(given, expected);
    const account = String(req.params['accountSid'] ?? '');
    if (!ok || account !== accountSid) twilioError(res, 401, 20003, 'Authenticate');
    return ok && account === accountSid;
  }

  private createCall(req: Request, res: Response): void {
    if (!this.authorised(req, res)) return;
    const p = req.body as Record<string, string | string[]>;
    const text = (name: string) => (typeof p[name] === 'string' ? p[name] : undefined);
    const to = text('To');
    const from = text('From');
    const url = text('Url');
    if (to === undefined) return twilioError(res, 400, 21201, "No 'To' number is specified");
    if (from === undefined) return twilioError(res, 400, 21213, "No 'From' number is specified");
    if (url === undefined) return twilioError(res, 400, 21205, 'Url parameter is required');
    const callSid = `CA${randomBytes(16).toString('hex')}`;
    const events = p['StatusCallbackEvent'];
    const params: Record<string, string> = {
      Url: url,
      StatusCallback: text('StatusCallback') ?? '',
      StatusCallbackEvent: (Array.isArray(events) ? events : (events ?? 'completed').split(' ')).join(' '),
      MachineDetection: text('MachineDetection') ?? '',
      AsyncAmd: text('AsyncAmd') ?? 'false',
      AsyncAmdStatusCallback: text('AsyncAmdStatusCallback') ?? '',
    };
    let finish!: () => void;
    const callee = this.options.calleeFor?.(to) ?? 'person';
    const call: SimCall = {
      callSid,
      to,
      from,
      callee,
      statuses: [],
      answeredBy: null,
      audio: null,
      firstAssistantAudioMs: null,
      verdictAtMs: null,
      endedBy: null,
      done: new Promise((resolve) => (finish = () => resolve(call))),
      phone: null,
    };
    const state: CallState = { call, params, sequence: 0, answeredAt: null, finish, timers: [], over: false };
    this.calls.set(callSid, state);
    res.status(201).json(this.resource(state, 'queued'));
    this.progress(state, 'queued');
    void this.run(state);
  }

  /** The Call resource as Twilio's API answers it (the fields twilio-node's CallInstance reads). */
  private resource(state: CallState, status: string): Record<string, unknown> {
    const { call } = state;
    const now = new Date(this.options.clock.now()).toUTCString();
    return {
      sid: call.callSid,
      account_sid: this.options.accountSid,
      to: call.to,
      from: call.from,
      status,
      direction: 'outbound-api',
      api_version: '2010-04-01',
      date_created: now,
      date_updated: now,
      uri: `/2010-04-01/Accounts/${this.options.accountSid}/Calls/${call.callSid}.json`,
    };
  }

  private updateCall(req: Request, res: Response): void {
    if (!this.authorised(req, res)) return;
    const state = this.calls.get(String(req.params['callSid'] ?? ''));
    if (state === undefined) return twilioError(res, 404, 20404, 'The requested resource was not found');
    const body = req.body as Record<string, string>;
    res.status(200).json(this.resource(state, state.over ? 'completed' : 'in-progress'));
    if (body['Status'] === 'completed' || body['Status'] === 'canceled') {
      this.progress(state, 'hung up by the bridge');
      void this.end(state, 'bridge');
    } else if (body['Twiml'] !== undefined || body['Url'] !== undefined) {
      this.progress(state, 'redirected (transfer): the call leaves the simulator');
      void this.end(state, 'bridge');
    }
  }

  private later(state: CallState, ms: number, fn: () => void): void {
    state.timers.push(this.options.clock.setTimer(ms, fn));
  }

  private async run(state: CallState): Promise<void> {
    const { call } = state;
    const o = { ...DEFAULTS, ...this.options };
    await this.status(state, 'initiated');
    await this.status(state, 'ringing');
    this.later(state, o.ringMs, () => {
      if (call.callee === 'person' || call.callee === 'machine') void this.answer(state);
      else {
        call.endedBy = 'unanswered';
        void this.status(state, call.callee).then(() => this.settle(state));
      }
    });
  }

  private async answer(state: CallState): Promise<void> {
    const { call, params } = state;
    const o = { ...DEFAULTS, ...this.options };
    const audio = call.callee === 'machine' ? machineAudio() : (this.options.personAudio ?? personAudio());
    call.audio = audio;
    state.answeredAt = performance.now();
    this.progress(state, `answered by a ${call.callee}`);
    let xml: string;
    try {
      const res = await this.post(params['Url']!, this.callParams(state, 'in-progress'));
      xml = await res.text();
      if (res.status !== 200) throw new Error(`voice webhook answered HTTP ${res.status}`);
    } catch (err) {
      this.progress(state, `voice webhook failed: ${(err as Error).message}`);
      return this.end(state, 'bridge');
    }
    const stream = parseStreamTwiml(xml);
    if (stream === null) {
      this.progress(state, 'the TwiML has no <Connect><Stream>: the call ends');
      return this.end(state, 'bridge');
    }
    await this.status(state, 'in-progress');
    const phone = new SimulatedPhone({
      bridgeUrl: '',
      to: call.to,
      from: call.from,
      callSid: call.callSid,
      accountSid: this.options.accountSid,
      callerAudio: audio.mulaw8k,
    });
    call.phone = phone;
    phone.once('media', () => {
      call.firstAssistantAudioMs = this.sinceAnswer(state);
    });
    phone.once('closed', () => void this.end(state, 'bridge'));
    try {
      await phone.connect(stream.url, stream.parameters);
    } catch (err) {
      this.progress(state, `media stream refused: ${(err as Error).message}`);
      return this.end(state, 'bridge');
    }
    if (params['AsyncAmd'] === 'true' && params['MachineDetection'] !== '' && params['AsyncAmdStatusCallback'] !== '') {
      const verdictIn = audio.beepEndMs === null ? o.humanVerdictMs : audio.beepEndMs + o.machineVerdictMs;
      const answeredBy = audio.beepEndMs === null ? 'human' : 'machine_end_beep';
      this.later(state, verdictIn, () => void this.verdict(state, answeredBy));
    }
    if (call.callee === 'person') this.later(state, o.personHangUpMs, () => void this.end(state, 'callee'));
  }

  private async verdict(state: CallState, answeredBy: string): Promise<void> {
    if (state.over) return;
    const { call } = state;
    call.answeredBy = answeredBy;
    call.verdictAtMs = this.sinceAnswer(state);
    this.progress(state, `AMD: AnsweredBy=${answeredBy}`);
    const body = {
      AccountSid: this.options.accountSid,
      CallSid: call.callSid,
      AnsweredBy: answeredBy,
      MachineDetectionDuration: String(Math.round(call.verdictAtMs)),
    };
    await this.post(state.params['AsyncAmdStatusCallback']!, body).catch(() => undefined);
  }

  private sinceAnswer(state: CallState): number {
    return state.answeredAt === null ? 0 : performance.now() - state.answeredAt;
  }

  /** Ends the call once: the media stream stops, then the `completed` callback. */
  private async end(state: CallState, by: 'bridge' | 'callee'): Promise<void> {
    if (state.over) return;
    state.over = true;
    state.call.endedBy ??= by;
    for (const timer of state.timers) this.options.clock.clearTimer(timer);
    if (state.call.phone?.isOpen) await state.call.phone.hangUp();
    await this.status(state, 'completed');
    this.settle(state);
  }

  private settle(state: CallState): void {
    state.over = true;
    this.progress(state, `over (${state.call.statuses.at(-1) ?? 'no status'})`);
    state.finish();
  }

  private callParams(state: CallState, status: string): Record<string, string> {
    const { call } = state;
    return {
      AccountSid: this.options.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: call.callSid,
      CallStatus: status,
      Direction: 'outbound-api',
      From: call.from,
      To: call.to,
      Caller: call.from,
      Called: call.to,
    };
  }

  /**
   * A StatusCallback, when the dial asked for that event (`completed` always goes: it also
   * carries `busy`, `failed`, `no-answer`; `answered` is sent as `in-progress`).
   */
  private async status(state: CallState, status: string): Promise<void> {
    const { params, call } = state;
    const event = status === 'in-progress' ? 'answered' : status;
    const final = ['completed', 'busy', 'failed', 'no-answer', 'canceled'].includes(status);
    if (!final && !params['StatusCallbackEvent']!.split(' ').includes(event)) return;
    call.statuses.push(status);
    this.progress(state, `status ${status}`);
    if (params['StatusCallback'] === '') return;
    const body: Record<string, string> = {
      ...this.callParams(state, status),
      CallbackSource: 'call-progress-events',
      SequenceNumber: String(state.sequence++),
      Timestamp: new Date(this.options.clock.now()).toUTCString(),
    };
    if (final && state.answeredAt !== null) body['CallDuration'] = String(Math.round(this.sinceAnswer(state) / 1000));
    await this.post(params['StatusCallback']!, body).catch(() => undefined);
  }

  /** A signed form POST, as Twilio sends its webhooks. */
  private post(url: string, params: Record<string, string>): Promise<globalThis.Response> {
    const signature = twilio.getExpectedTwilioSignature(this.options.authToken, url, params);
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: new URLSearchParams(params).toString(),
    });
  }

  private progress(state: CallState, what: string): void {
    this.options.onProgress?.(state.call.callSid, what);
  }
}
