/**
 * Adapter over the realtime WebSocket (OpenAI, Azure, a gateway, or the local emulator):
 * endpoint and auth from `providers.ts`, commands → wire through the codec, wire → events
 * through the codec, reconnect with back-off. It decides nothing about the call.
 *
 * ```
 *            connect()                    'open'
 *   idle ─────────────► connecting ─────────────────► open
 *                          ▲   │ close/error               │ close (server, network)
 *                          │   ▼                           ▼
 *                 timer    retrying ◄── retryable, attempts left ──┐
 *                          │                                        │
 *                          └── fatal code / HTTP 401·403·404·400 / attempts exhausted ──► failed
 *   close() from any state ──► closed            reconnect(): open → (close) → connecting, no back-off
 * ```
 * Events: `model.open {reconnect}` on every open; `model.closed {willRetry, retryInMs}` on every
 * close of a socket; `model.failed` once, when giving up. After `close()` only the socket's
 * own `model.closed` may follow.
 *
 * Socket callbacks never throw. A bad server message is logged by its parse reason (never
 * its payload) and dropped. Credentials live only in the handshake headers and are never
 * logged; provider messages are scrubbed of them before they reach an event.
 *
 * Caller audio is never held for a partner or a timer (Nagle's rule without the timer): an
 * append is written at once when no write is in flight on the socket; appends handed over
 * while one is (between `ws.send` and its callback) wait only for it and then go as one
 * append, in order. So the most a frame waits is the time the write ahead of it takes to
 * leave the process: the rest of the current event-loop turn when the socket takes the
 * bytes (its callback runs on the next tick), longer only while the kernel's buffer is full,
 * when no rule could send sooner. Any other command first writes the audio held before it,
 * and `close()` writes it before the close frame, so the model gets every frame, the last
 * one included.
 */
import WebSocket, { type ClientOptions, type RawData } from 'ws';

import type { IncomingMessage } from 'node:http';

import type { ModelTap } from '../call/call-factory.js';
import type { ModelCommand, ModelEvent, ModelLinkEvent } from '../protocol/realtime.js';
import { encodeAppendAudioFrame, encodeClientEvent, parseServerEventObject } from '../protocol/realtime-codec.js';
import { Redactor } from '../security/redact.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { RealtimeConnectionError, describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';

import type { RealtimeEndpoint } from './providers.js';
import { wsText } from '../util/ws-text.js';

/** Back-off policy for retryable failures. */
export interface RetryPolicy {
  /** consecutive failed attempts before giving up */
  maxAttempts: number;
  /** delay before the first retry (then doubling), ms */
  baseDelayMs: number;
  /** cap of a single delay, ms */
  maxDelayMs: number;
}

/**
 * Defaults: 5 attempts, 250 ms doubling to at most 4 s, each delay jittered to 50–100 %.
 * Worst case ≈ 7.75 s of retrying: a caller hears silence meanwhile, so after that the
 * bridge should apologise and end the call rather than keep them waiting.
 */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 4_000 };

/**
 * Provider error codes that no retry can fix (bad key, no money, wrong dialect, wrong model):
 * the link gives up at once. Other `error` events are forwarded and the session carries on.
 */
export const FATAL_PROVIDER_CODES: ReadonlySet<string> = new Set([
  'invalid_api_key',
  'insufficient_quota',
  'beta_api_shape_disabled',
  'account_deactivated',
  'billing_hard_limit_reached',
  'model_not_found',
  'unsupported_country_region_territory',
]);

/** OpenAI closes with 4000 after `beta_api_shape_disabled` (PROTOCOLS §0): never retry it. */
const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([4000]);
/** Handshake statuses a retry cannot fix: bad request, bad credentials, forbidden, no such deployment. */
const FATAL_HTTP_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 404]);

/**
 * Largest server message accepted: server events can exceed 1 MiB (`conversation.item.created`
 * carrying base64 audio; 74 KB audio deltas have been seen) and PROTOCOLS §6.8 asks for ≥ 16 MiB.
 * 64 MiB leaves room and still bounds the memory one bad frame can take.
 */
export const REALTIME_MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
/** Handshake deadline: a provider that has not answered in 10 s is treated as down (retryable). */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** After we start a close, the peer gets this long to answer the close frame before the socket is destroyed. */
const CLOSE_GRACE_MS = 1_000;
/** Bytes of a refused handshake's body read to find the provider's error code. */
const MAX_ERROR_BODY_BYTES = 8_192;
/**
 * Dropped server messages are logged one by one for the first few, then one in this many
 * (with the running count), like the Twilio link: a server that sends garbage in a loop
 * must not flood the log.
 */
const DROPPED_LOG_EVERY = 1_000;
const DROPPED_LOG_FIRST = 5;
/** Distinct unknown event types logged per link; a server inventing types cannot grow the set without bound. */
const MAX_UNKNOWN_TYPES_LOGGED = 64;

/** See the diagram at the top of this file. */
export type RealtimeLinkState = 'idle' | 'connecting' | 'open' | 'retrying' | 'closed' | 'failed';

/** Construction options; only `endpoint`, `clock`, `logger` and `onEvent` are required. */
export interface RealtimeLinkOptions {
  endpoint: RealtimeEndpoint;
  clock: Clock;
  logger: Logger;
  /** every parsed server event and every socket lifecycle event, in order; must not throw (it is guarded anyway) */
  onEvent: (event: ModelEvent | ModelLinkEvent) => void;
  /** raw wire traffic for the call recorder: `model_in` = bridge → model, `model_out` = model → bridge */
  tap?: ModelTap;
  retry?: Partial<RetryPolicy>;
  /** extra `ws` client options (agent, perMessageDeflate, …); the endpoint's headers are always sent */
  wsOptions?: ClientOptions;
  connectTimeoutMs?: number;
  /** uniform [0, 1) for jitter; `Math.random` by default (tests pass a fixed one) */
  random?: () => number;
  maxPayloadBytes?: number;
}

interface Failure {
  message: string;
  providerCode: string | null;
}

/** A human explanation per fatal code; the provider's own message follows it. */
const FATAL_HINTS: Readonly<Record<string, string>> = {
  invalid_api_key: 'the realtime provider rejected the API key; check OPENAI_API_KEY or AZURE_OPENAI_API_KEY',
  insufficient_quota: 'the realtime provider account has no quota left',
  beta_api_shape_disabled: 'the endpoint no longer accepts the beta dialect; use REALTIME_DIALECT=ga',
  account_deactivated: 'the realtime provider account is deactivated',
  billing_hard_limit_reached: 'the realtime provider account reached its billing limit',
  model_not_found: 'the realtime model or deployment does not exist; check REALTIME_MODEL or AZURE_OPENAI_DEPLOYMENT',
  unsupported_country_region_territory: 'the realtime provider does not serve this region',
};

/** `ws.send` option for JSON held in a Buffer (a Buffer is otherwise sent as a binary message). */
const TEXT_MESSAGE = { binary: false } as const;

/**
 * One realtime connection per call, across reconnects (see the file header). Methods never
 * throw; everything that happens is reported through `onEvent`.
 */
export class RealtimeLink {
  private readonly endpoint: RealtimeEndpoint;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly onEvent: (event: ModelEvent | ModelLinkEvent) => void;
  private readonly tap: ModelTap | undefined;
  private readonly retry: RetryPolicy;
  private readonly wsOptions: ClientOptions;
  private readonly connectTimeoutMs: number;
  private readonly random: () => number;
  private readonly maxPayloadBytes: number;
  private readonly redactor: Redactor;

  private currentState: RealtimeLinkState = 'idle';
  private ws: WebSocket | null = null;
  private everOpened = false;
  /** consecutive failed attempts since the last accepted session */
  private attempts = 0;
  private retryTimer: TimerHandle | null = null;
  private connectTimer: TimerHandle | null = null;
  private graceTimer: TimerHandle | null = null;
  /** set when the current socket must not be retried */
  private fatal: Failure | null = null;
  /** why the current socket failed, for the retry-exhausted message */
  private lastProblem: Failure | null = null;
  private reconnectRequested = false;
  private readonly unknownTypesLogged = new Set<string>();
  private droppedMessages = 0;
  private failure: RealtimeConnectionError | null = null;
  /** writes on the current socket whose `ws.send` callback has not come back */
  private writesInFlight = 0;
  /** caller audio handed over while a write was in flight, sent as one append when it completes */
  private heldAudio: Uint8Array[] = [];
  private heldAudioBytes = 0;

  constructor(options: RealtimeLinkOptions) {
    this.endpoint = options.endpoint;
    this.clock = options.clock;
    this.logger = options.logger.child({ realtime: options.endpoint.label });
    this.onEvent = options.onEvent;
    this.tap = options.tap;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.wsOptions = options.wsOptions ?? {};
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.random = options.random ?? Math.random;
    this.maxPayloadBytes = options.maxPayloadBytes ?? REALTIME_MAX_PAYLOAD_BYTES;
    const secrets: string[] = [];
    for (const value of Object.values(options.endpoint.headers)) {
      secrets.push(value);
      const bearer = /^Bearer\s+(.+)$/i.exec(value);
      if (bearer?.[1] !== undefined) secrets.push(bearer[1]);
    }
    this.redactor = new Redactor(secrets);
  }

  /** Where the link is in its life (see the diagram at the top of this file). */
  get state(): RealtimeLinkState {
    return this.currentState;
  }

  /** Why the link gave up, once it has (`state === 'failed'`). */
  get lastError(): RealtimeConnectionError | null {
    return this.failure;
  }

  /** Opens the socket. Only from `idle`; later calls are ignored. Progress is reported through `onEvent`. */
  connect(): void {
    if (this.currentState !== 'idle') {
      this.logger.debug({ state: this.currentState }, 'realtime connect ignored');
      return;
    }
    this.openSocket();
  }

  /**
   * Sends a command: at once, or — caller audio only — as soon as the write in flight has
   * left (see the file header). Returns false (and logs at debug) when the socket is not
   * open; never throws.
   */
  send(cmd: ModelCommand): boolean {
    const ws = this.ws;
    if (this.currentState !== 'open' || ws === null || ws.readyState !== WebSocket.OPEN) {
      this.logger.debug({ command: cmd.type, state: this.currentState }, 'realtime command dropped: socket not open');
      return false;
    }
    if (cmd.type === 'model.appendAudio') {
      if (this.writesInFlight === 0) return this.write(ws, cmd);
      this.heldAudio.push(cmd.audio);
      this.heldAudioBytes += cmd.audio.byteLength;
      return true;
    }
    this.writeHeldAudio(ws);
    return this.write(ws, cmd);
  }

  /**
   * Replaces the socket now, without back-off (e.g. shortly before the provider's session
   * limit). Emits `model.closed {willRetry: true, retryInMs: 0}` then `model.open {reconnect: true}`.
   */
  reconnect(reason: string): void {
    this.logger.info({ reason }, 'realtime reconnect requested');
    if (this.currentState === 'retrying') {
      this.clearTimer('retry');
      this.openSocket();
      return;
    }
    if ((this.currentState === 'open' || this.currentState === 'connecting') && this.ws !== null) {
      if (this.currentState === 'open') this.writeHeldAudio(this.ws);
      this.reconnectRequested = true;
      this.closeSocket(this.ws, 1000, 'reconnect');
    }
  }

  /**
   * Closes for good, after writing any caller audio still held. No events follow except the
   * `model.closed` of a socket that was open.
   */
  close(): void {
    if (this.currentState === 'closed') return;
    if (this.ws !== null && this.currentState === 'open') this.writeHeldAudio(this.ws);
    const wasFailed = this.currentState === 'failed';
    this.currentState = wasFailed ? 'failed' : 'closed';
    this.clearTimer('retry');
    this.clearTimer('connect');
    const ws = this.ws;
    if (ws !== null && ws.readyState !== WebSocket.CLOSED) this.closeSocket(ws, 1000, 'bridge closed the call');
    else this.ws = null;
  }

  // -------------------------------------------------------------------------------------------

  /** Writes one command now; the write is in flight until `ws.send` calls back. */
  private write(ws: WebSocket, cmd: ModelCommand): boolean {
    const written = (): void => {
      if (ws !== this.ws) return; // a callback of a socket already replaced
      this.writesInFlight--;
      if (this.writesInFlight === 0) this.guard(() => this.writeHeldAudio(ws));
    };
    try {
      // Caller audio, 50 appends a second per call, never builds the event object: the
      // recorder takes the bytes. The frame is UTF-8 JSON in a Buffer, so it must be sent as a
      // text message.
      if (cmd.type === 'model.appendAudio') {
        ws.send(encodeAppendAudioFrame(cmd.audio), TEXT_MESSAGE, written);
        this.tapAudio(cmd.audio);
      } else {
        const wire = encodeClientEvent(cmd, this.endpoint.dialect);
        this.safeTap('model_in', wire);
        ws.send(JSON.stringify(wire), written);
      }
      this.writesInFlight++;
      return true;
    } catch (err) {
      this.logger.warn({ command: cmd.type, err: describeError(err) }, 'realtime command failed to send');
      return false;
    }
  }

  /** The caller audio held behind a write in flight, as one append, now. */
  private writeHeldAudio(ws: WebSocket): void {
    if (this.heldAudioBytes === 0 || ws.readyState !== WebSocket.OPEN) return;
    const held = this.heldAudio;
    const audio = held.length === 1 ? held[0]! : Buffer.concat(held, this.heldAudioBytes);
    this.heldAudio = [];
    this.heldAudioBytes = 0;
    this.write(ws, { type: 'model.appendAudio', audio });
  }

  /** A new socket starts with nothing in flight; audio held for the old one went with it, like what it had written. */
  private forgetWrites(): void {
    if (this.heldAudioBytes > 0) {
      this.logger.debug({ bytes: this.heldAudioBytes }, 'caller audio held for a closed realtime socket dropped');
    }
    this.writesInFlight = 0;
    this.heldAudio = [];
    this.heldAudioBytes = 0;
  }

  private emit(event: ModelEvent | ModelLinkEvent): void {
    try {
      this.onEvent(event);
    } catch (err) {
      this.logger.error({ event: event.type, err: describeError(err) }, 'realtime event handler threw');
    }
  }

  /** The recorder observes and never influences: if it throws, the message is still handled. */
  private safeTap(dir: 'model_in' | 'model_out', wire: object): void {
    if (this.tap === undefined) return;
    try {
      this.tap.message(dir, wire);
    } catch (err) {
      this.logger.error({ err: describeError(err) }, 'realtime tap threw');
    }
  }

  private tapAudio(audio: Uint8Array): void {
    if (this.tap === undefined) return;
    try {
      this.tap.appendAudio(audio);
    } catch (err) {
      this.logger.error({ err: describeError(err) }, 'realtime tap threw');
    }
  }

  private clearTimer(which: 'retry' | 'connect' | 'grace'): void {
    const key = `${which}Timer` as const;
    const timer = this[key];
    if (timer !== null) this.clock.clearTimer(timer);
    this[key] = null;
  }

  private closeSocket(ws: WebSocket, code: number, reason: string): void {
    try {
      if (ws.readyState === WebSocket.CONNECTING) {
        ws.terminate();
        return;
      }
      ws.close(code, reason);
      this.clearTimer('grace');
      this.graceTimer = this.clock.setTimer(CLOSE_GRACE_MS, () => {
        this.graceTimer = null;
        if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
      });
    } catch (err) {
      this.logger.debug({ err: describeError(err) }, 'realtime socket close failed; destroying it');
      ws.terminate();
    }
  }

  private openSocket(): void {
    this.forgetWrites();
    this.currentState = 'connecting';
    this.fatal = null;
    this.lastProblem = null;
    this.logger.info({ dialect: this.endpoint.dialect, attempt: this.attempts + 1 }, 'realtime connecting');
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.endpoint.url, {
        ...this.wsOptions,
        headers: { ...this.wsOptions.headers, ...this.endpoint.headers },
        maxPayload: this.maxPayloadBytes,
      });
    } catch (err) {
      // A malformed URL is a configuration error: retrying cannot help.
      this.fail({ message: `realtime URL is not usable: ${describeError(err)}`, providerCode: null });
      return;
    }
    this.ws = ws;
    this.connectTimer = this.clock.setTimer(this.connectTimeoutMs, () => {
      this.connectTimer = null;
      if (this.ws === ws && ws.readyState === WebSocket.CONNECTING) {
        this.lastProblem = { message: `no handshake answer within ${this.connectTimeoutMs} ms`, providerCode: null };
        ws.terminate();
      }
    });
    ws.on('open', () => this.guard(() => this.onOpen(ws)));
    ws.on('message', (data, isBinary) => this.guard(() => this.onMessage(ws, data, isBinary)));
    ws.on('unexpected-response', (req, res) => this.guard(() => this.onUnexpectedResponse(ws, req, res)));
    ws.on('error', (err) => this.guard(() => this.onError(ws, err)));
    ws.on('close', (code, reason) => this.guard(() => this.onClose(ws, code, reason.toString())));
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err: describeError(err) }, 'realtime socket callback failed');
    }
  }

  private onOpen(ws: WebSocket): void {
    if (ws !== this.ws) return;
    this.clearTimer('connect');
    if (this.currentState !== 'connecting') return;
    this.currentState = 'open';
    const reconnect = this.everOpened;
    this.everOpened = true;
    this.logger.info({ reconnect }, 'realtime open');
    this.emit({ type: 'model.open', reconnect });
  }

  private onMessage(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (ws !== this.ws || this.currentState !== 'open' || this.fatal !== null) return;
    if (isBinary) {
      this.dropped({ reason: 'binary frame' });
      return;
    }
    const text = wsText(data);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.dropped({ reason: 'not JSON', bytes: text.length });
      return;
    }
    if (typeof value === 'object' && value !== null) this.safeTap('model_out', value);
    const parsed = parseServerEventObject(value, this.endpoint.dialect);
    if (!parsed.ok) {
      this.dropped({ reason: parsed.reason });
      return;
    }
    const event = parsed.event;
    switch (event.type) {
      case 'model.other':
        if (this.unknownTypesLogged.size < MAX_UNKNOWN_TYPES_LOGGED && !this.unknownTypesLogged.has(event.wireType)) {
          this.unknownTypesLogged.add(event.wireType);
          this.logger.debug({ wireType: event.wireType }, 'realtime event not used by the bridge');
        }
        break;
      case 'model.sessionCreated':
        // The provider accepted a session: the connection works, so back-off starts afresh.
        this.attempts = 0;
        break;
      case 'model.error': {
        const message = this.redactor.text(event.message);
        const safe = { ...event, message };
        this.logger.warn({ code: event.code, errorType: event.errorType, message }, 'realtime error event');
        this.emit(safe);
        if (event.code !== null && FATAL_PROVIDER_CODES.has(event.code)) {
          this.fatal = {
            message: `${FATAL_HINTS[event.code] ?? event.code} (${event.code}: ${message})`,
            providerCode: event.code,
          };
          this.closeSocket(ws, 1000, 'fatal provider error');
        } else if (event.code !== null) {
          this.lastProblem = { message: `${event.code}: ${message}`, providerCode: event.code };
        }
        return;
      }
      default:
        break;
    }
    this.emit(event);
  }

  /** Logs a dropped server message: the first few, then sampled (see {@link DROPPED_LOG_EVERY}). */
  private dropped(fields: { reason: string; bytes?: number }): void {
    const count = ++this.droppedMessages;
    if (count <= DROPPED_LOG_FIRST || count % DROPPED_LOG_EVERY === 0)
      this.logger.warn({ ...fields, count }, 'realtime message dropped');
  }

  private onUnexpectedResponse(ws: WebSocket, _req: unknown, res: IncomingMessage): void {
    if (ws !== this.ws) return;
    const status = res.statusCode ?? 0;
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      let code: string | null = null;
      let providerMessage = '';
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          error?: { code?: unknown; message?: unknown };
        };
        if (typeof body.error?.code === 'string') code = body.error.code;
        if (typeof body.error?.message === 'string') providerMessage = this.redactor.text(body.error.message);
      } catch {
        // not JSON: the status alone decides
      }
      const summary =
        `handshake refused with HTTP ${status}${code !== null ? ` (${code})` : ''}` +
        `${providerMessage !== '' ? `: ${providerMessage}` : ''}`;
      const fatal = FATAL_HTTP_STATUSES.has(status) || (code !== null && FATAL_PROVIDER_CODES.has(code));
      const hint =
        code !== null
          ? FATAL_HINTS[code]
          : status === 401 || status === 403
            ? FATAL_HINTS['invalid_api_key']
            : undefined;
      const failure = {
        message: hint !== undefined ? `${hint} (${summary})` : summary,
        providerCode: code ?? `http_${status}`,
      };
      if (fatal) this.fatal = failure;
      else this.lastProblem = failure;
      this.logger.warn({ status, code }, 'realtime handshake refused');
      ws.terminate();
    };
    res.on('data', (chunk: Buffer) => {
      if (size < MAX_ERROR_BODY_BYTES) chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_ERROR_BODY_BYTES) settle();
    });
    res.on('end', settle);
    res.on('error', settle);
    res.on('close', settle);
  }

  private onError(ws: WebSocket, err: Error): void {
    if (ws !== this.ws) return;
    const message = this.redactor.text(err.message);
    this.lastProblem ??= { message, providerCode: null };
    this.logger.warn({ err: message }, 'realtime socket error');
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = null;
    this.clearTimer('connect');
    this.clearTimer('grace');
    const safeReason = this.redactor.text(reason);
    this.logger.info({ code, reason: safeReason }, 'realtime closed');

    if (this.currentState === 'closed' || this.currentState === 'failed') {
      this.emit({ type: 'model.closed', code, reason: safeReason, willRetry: false, retryInMs: null });
      return;
    }
    if (this.fatal === null && FATAL_CLOSE_CODES.has(code)) {
      this.fatal = {
        message: `${FATAL_HINTS['beta_api_shape_disabled']} (closed with ${code} ${safeReason})`,
        providerCode: 'beta_api_shape_disabled',
      };
    }
    if (this.fatal !== null) {
      this.emit({ type: 'model.closed', code, reason: safeReason, willRetry: false, retryInMs: null });
      this.fail(this.fatal);
      return;
    }
    if (this.reconnectRequested) {
      this.reconnectRequested = false;
      this.emit({ type: 'model.closed', code, reason: safeReason, willRetry: true, retryInMs: 0 });
      this.openSocket();
      return;
    }
    this.attempts++;
    if (this.attempts > this.retry.maxAttempts) {
      this.emit({ type: 'model.closed', code, reason: safeReason, willRetry: false, retryInMs: null });
      const last = this.lastProblem ?? {
        message: `closed with ${code}${safeReason !== '' ? ` ${safeReason}` : ''}`,
        providerCode: null,
      };
      this.fail({
        message: `gave up after ${this.retry.maxAttempts} reconnect attempts; last problem: ${last.message}`,
        providerCode: last.providerCode,
      });
      return;
    }
    const delay = this.backoffMs(this.attempts);
    this.currentState = 'retrying';
    this.emit({ type: 'model.closed', code, reason: safeReason, willRetry: true, retryInMs: delay });
    this.retryTimer = this.clock.setTimer(delay, () => {
      this.retryTimer = null;
      if (this.currentState === 'retrying') this.openSocket();
    });
  }

  /** Exponential back-off with "equal jitter": half the delay fixed, half random. */
  private backoffMs(attempt: number): number {
    const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }

  private fail(failure: Failure): void {
    this.currentState = 'failed';
    this.clearTimer('retry');
    this.failure = new RealtimeConnectionError(failure.message, false, failure.providerCode);
    this.logger.error({ providerCode: failure.providerCode, reason: failure.message }, 'realtime link gave up');
    this.emit({ type: 'model.failed', message: failure.message, providerCode: failure.providerCode });
  }
}
