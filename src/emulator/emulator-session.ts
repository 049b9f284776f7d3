/**
 * One realtime session of the emulator: one WebSocket, one conversation, one input buffer
 * with its VAD, at most one response at a time. Speaks GA or beta (chosen at the handshake);
 * works internally on GA shapes (`protocol/dialects.ts` translates at the edge).
 *
 * Test hooks: {@link EmulatorSession.drop}, {@link EmulatorSession.expire},
 * {@link EmulatorSession.stall} / {@link EmulatorSession.resume},
 * {@link EmulatorSession.sendError}, {@link EmulatorSession.sendRaw},
 * {@link EmulatorSession.queueResponse}; traffic is observable through
 * {@link EmulatorSession.received} / {@link EmulatorSession.sent}, the `received` / `sent` /
 * `close` events, and the `next…` / `waitFor…` promises.
 *
 * Never throws out of a socket callback: a bad client message gets an `error` event, like the
 * real API; an internal bug is logged and answered with a `server_error`.
 */
import { EventEmitter } from 'node:events';

import type { RawData, WebSocket } from 'ws';

import { clientEventToGa, serverEventFromGa, type Dialect } from '../protocol/dialects.js';
import type { WireObject } from '../protocol/wire-object.js';
import { decodeBase64 } from '../protocol/realtime-codec.js';
import { modelAudioBytesPerMs } from '../protocol/realtime.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';

import { fromSamples, sampleRateOf, tone, toSamples, type EmulatorAudioFormat } from './audio-convert.js';
import type { ClipLibrary } from './clips.js';
import { checkClientEvent } from './client-events.js';
import { EmulatorMcp, mcpToolConfigs, type McpToolConfig } from './mcp-client.js';
import { SeededRandom } from './random.js';
import { defaultPlan, type Pacing, type Responder, type ResponsePlan, type ResponseRequest } from './responder.js';
import { ResponseRun, type ResponseHost, type ResponseSegment } from './response-run.js';
import {
  applySessionUpdate,
  defaultSessionState,
  emulatorFormat,
  renderSession,
  type SessionConfigState,
} from './session-config.js';
import { EnergyVad } from './vad.js';
import { wireErrors, type WireError } from './wire-errors.js';
import { wsText } from '../util/ws-text.js';

/** One message seen by the session, in wire form (audio payloads left out; see `audioBytes`). */
export interface TrafficRecord {
  type: string;
  /** the wire JSON, except `audio` (append) / `delta` (audio deltas), which are dropped */
  wire: WireObject;
  /** clock time */
  atMs: number;
  /** size of the dropped audio payload, decoded */
  audioBytes?: number;
}

/** A conversation item as the session tracks it. */
export interface ConversationItemView {
  id: string;
  type: string;
  role: 'user' | 'assistant' | 'system' | null;
  status: string;
  /** audio length (user utterance, or assistant audio sent so far / after truncation), ms */
  audioMs: number;
  text: string | null;
  callId: string | null;
  name: string | null;
}

interface ConvItem extends ConversationItemView {
  /** GA wire item without audio bytes */
  wire: WireObject;
  hasAudio: boolean;
  outOfBand: boolean;
}

/** What the emulator hands a new session (internal wiring; tests get sessions from `nextSession()`). */
export interface EmulatorSessionInit {
  index: number;
  dialect: Dialect;
  ws: WebSocket;
  clock: Clock;
  logger: Logger;
  seed: number;
  clips: ClipLibrary;
  pacing: Required<Pacing>;
  sessionMaxMs: number;
  model: string;
  responder: Responder | undefined;
  /** takes the next plan from the emulator-wide queue */
  takeQueuedPlan: () => ResponsePlan | undefined;
  handshake: { url: string; betaHeader: boolean; auth: 'bearer' | 'api-key' | 'query' | null };
}

/** Bounded history: an hour of 20 ms appends is 180k events, so only the latest are kept. */
const MAX_TRAFFIC_RECORDS = 2_000;
/** Uncommitted input kept at most; older audio is dropped (a very long turn is still committed). */
const INPUT_BUFFER_CAP_MS = 120_000;
/** The real API refuses to commit less than this (PROTOCOLS §6.1). */
const MIN_COMMIT_MS = 100;
/** Audio kept after the last speech frame when echoing an utterance: the word's tail, not the whole silence. */
const ECHO_TAIL_MS = 200;
/** The echo line's beep: 1 kHz for 250 ms at −12 dBFS, then 150 ms of silence. */
const ECHO_TONE_MS = 250;
const ECHO_TONE_HZ = 1_000;
const ECHO_TONE_AMPLITUDE = 0.25;
const ECHO_GAP_MS = 150;
/** semantic_vad is emulated as energy VAD with these silences (ms) per eagerness. */
const SEMANTIC_SILENCE_MS: Readonly<Record<string, number>> = { low: 1000, medium: 600, auto: 600, high: 300 };
/** Tokens per second of input audio and characters per text token, for the usage estimate. */
const INPUT_AUDIO_TOKENS_PER_S = 10;
const CHARS_PER_TOKEN = 4;

interface Waiter {
  direction: 'received' | 'sent';
  type: string | undefined;
  predicate: ((record: TrafficRecord) => boolean) | undefined;
  resolve: (record: TrafficRecord) => void;
  reject: (err: Error) => void;
}

interface InputChunk {
  startMs: number;
  samples: Int16Array;
  rateHz: number;
}

/**
 * One emulated realtime session (see the file header). Events: `received` and `sent`
 * ({@link TrafficRecord}), `close` (`{ code, reason }`).
 */
export class EmulatorSession extends EventEmitter {
  /** the session id sent in `session.created` (`sess_…`) */
  readonly id: string;
  /** 1-based order of connection to this emulator */
  readonly index: number;
  readonly dialect: Dialect;
  /** what the handshake carried (credentials are never kept, only how they came) */
  readonly handshake: EmulatorSessionInit['handshake'];
  /** latest client events, oldest first (bounded) */
  readonly received: TrafficRecord[] = [];
  /** latest server events, oldest first (bounded) */
  readonly sent: TrafficRecord[] = [];
  /** resolves when the socket has closed */
  readonly closed: Promise<{ code: number; reason: string }>;

  private readonly ws: WebSocket;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly clips: ClipLibrary;
  private readonly basePacing: Required<Pacing>;
  private readonly responder: Responder | undefined;
  private readonly takeQueuedPlan: () => ResponsePlan | undefined;
  private readonly idRandom: SeededRandom;
  private readonly pacingRandom: SeededRandom;
  private readonly sessionMaxMs: number;

  private config: SessionConfigState;
  private readonly conversation: ConvItem[] = [];
  private readonly itemsById = new Map<string, ConvItem>();
  private itemsSinceResponse: ConvItem[] = [];
  private audioPresent = false;

  private inputClockMs = 0;
  private inputChunks: InputChunk[] = [];
  private inputFormat: EmulatorAudioFormat;
  private pcmCarry: number | null = null;
  private readonly vad: EnergyVad;
  private speech: { itemId: string; audioStartMs: number } | null = null;
  private lastUtterance: { samples: Int16Array; rateHz: number } | null = null;

  private active: ResponseRun | null = null;
  private readonly planQueue: ResponsePlan[] = [];
  private stalled = false;
  private readonly pendingOut: string[] = [];
  private isClosed = false;
  private expiryTimer: TimerHandle | null = null;
  private readonly waiters: Waiter[] = [];
  /** the session's `type: "mcp"` servers: the emulator is their MCP client, as the real API is */
  private readonly mcp = new EmulatorMcp();

  constructor(init: EmulatorSessionInit) {
    super();
    this.index = init.index;
    this.dialect = init.dialect;
    this.handshake = init.handshake;
    this.ws = init.ws;
    this.clock = init.clock;
    this.logger = init.logger;
    this.clips = init.clips;
    this.basePacing = init.pacing;
    this.responder = init.responder;
    this.takeQueuedPlan = init.takeQueuedPlan;
    this.sessionMaxMs = init.sessionMaxMs;
    this.idRandom = new SeededRandom(init.seed * 7919 + init.index);
    this.pacingRandom = new SeededRandom(init.seed * 104729 + init.index);
    this.id = this.idRandom.id('sess_');
    this.config = defaultSessionState({
      id: this.id,
      model: init.model,
      expiresAtS: Math.floor((this.clock.now() + this.sessionMaxMs) / 1000),
    });
    this.inputFormat = emulatorFormat(this.config.ga.audio.input.format) ?? 'pcm16';
    this.vad = new EnergyVad(this.vadSettings() ?? { threshold: 0.5, silenceDurationMs: 500 });

    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        this.cleanup('socket closed');
        resolve({ code, reason: reason.toString() });
        this.emit('close', { code, reason: reason.toString() });
      });
    });
    this.ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.ws.on('error', (err) => this.logger.debug({ err }, 'emulator socket error'));

    this.expiryTimer = this.clock.setTimer(this.sessionMaxMs, () => this.expire());
    this.emitServer({ type: 'session.created', session: renderSession(this.config, this.dialect) });
    if (this.dialect === 'beta')
      this.emitServer({
        type: 'conversation.created',
        conversation: { id: this.idRandom.id('conv_'), object: 'realtime.conversation' },
      });
  }

  // -------------------------------------------------------------------------------------------
  // Observation
  // -------------------------------------------------------------------------------------------

  /** The effective session configuration, GA shape (a copy). */
  get sessionConfig(): WireObject {
    return renderSession(this.config, 'ga');
  }

  /** The conversation, oldest first. */
  get items(): ConversationItemView[] {
    return this.conversation.map(({ id, type, role, status, audioMs, text, callId, name }) => ({
      id,
      type,
      role,
      status,
      audioMs,
      text,
      callId,
      name,
    }));
  }

  /** ms of input audio appended since the session began (the VAD clock). */
  get inputAudioMs(): number {
    return this.inputClockMs;
  }

  /** The response in progress, if any. */
  get activeResponseId(): string | null {
    return this.active?.id ?? null;
  }

  /** True until the socket closes. */
  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** The next matching client event that arrives after this call. */
  nextReceived(type?: string, predicate?: (record: TrafficRecord) => boolean): Promise<TrafficRecord> {
    return this.wait('received', type, predicate);
  }

  /** The first matching client event seen so far (bounded history), else the next one. */
  waitForReceived(type?: string, predicate?: (record: TrafficRecord) => boolean): Promise<TrafficRecord> {
    const seen = this.received.find(
      (r) => (type === undefined || r.type === type) && (predicate === undefined || predicate(r)),
    );
    return seen !== undefined ? Promise.resolve(seen) : this.wait('received', type, predicate);
  }

  /** The next matching server event (wire type of this dialect) sent after this call. */
  nextSent(type?: string, predicate?: (record: TrafficRecord) => boolean): Promise<TrafficRecord> {
    return this.wait('sent', type, predicate);
  }

  /** The first matching server event sent so far (bounded history), else the next one. */
  waitForSent(type?: string, predicate?: (record: TrafficRecord) => boolean): Promise<TrafficRecord> {
    const seen = this.sent.find(
      (r) => (type === undefined || r.type === type) && (predicate === undefined || predicate(r)),
    );
    return seen !== undefined ? Promise.resolve(seen) : this.wait('sent', type, predicate);
  }

  private wait(
    direction: 'received' | 'sent',
    type: string | undefined,
    predicate: ((r: TrafficRecord) => boolean) | undefined,
  ): Promise<TrafficRecord> {
    if (this.isClosed)
      return Promise.reject(
        new Error(`emulator session ${this.index} is closed (waiting for ${direction} ${type ?? 'event'})`),
      );
    const promise = new Promise<TrafficRecord>((resolve, reject) =>
      this.waiters.push({ direction, type, predicate, resolve, reject }),
    );
    // A waiter abandoned by its test must not become an unhandled rejection; awaiting it still throws.
    promise.catch(() => undefined);
    return promise;
  }

  private record(direction: 'received' | 'sent', wire: WireObject, audioBytes?: number): void {
    const type = typeof wire['type'] === 'string' ? wire['type'] : '';
    const record: TrafficRecord = {
      type,
      wire,
      atMs: this.clock.now(),
      ...(audioBytes !== undefined ? { audioBytes } : {}),
    };
    const list = direction === 'received' ? this.received : this.sent;
    list.push(record);
    if (list.length > MAX_TRAFFIC_RECORDS) list.splice(0, list.length - MAX_TRAFFIC_RECORDS);
    for (let i = 0; i < this.waiters.length;) {
      const w = this.waiters[i]!;
      if (
        w.direction === direction &&
        (w.type === undefined || w.type === type) &&
        (w.predicate === undefined || w.predicate(record))
      ) {
        this.waiters.splice(i, 1);
        w.resolve(record);
      } else i++;
    }
    this.emit(direction, record);
  }

  // -------------------------------------------------------------------------------------------
  // Test hooks
  // -------------------------------------------------------------------------------------------

  /**
   * Drops the connection: without a code the TCP socket is destroyed (the client sees 1006);
   * with one, a close frame is sent.
   */
  drop(code?: number, reason = ''): void {
    if (code === undefined) this.ws.terminate();
    else this.ws.close(code, reason);
    this.cleanup('dropped');
  }

  /** Ends the session as the real API does at its maximum duration: `error` `session_expired`, then close 1001. */
  expire(): void {
    if (this.isClosed) return;
    this.sendErrorNow(wireErrors.sessionExpired(Math.round(this.sessionMaxMs / 60_000)));
    this.ws.close(1001, 'going away');
    this.cleanup('expired');
  }

  /** Holds every server event back (queued, in order) until {@link resume}. */
  stall(): void {
    this.stalled = true;
  }

  /** Sends the held-back events and carries on. */
  resume(): void {
    this.stalled = false;
    for (const text of this.pendingOut.splice(0)) if (this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }

  /** Sends an `error` event with this code and message (e.g. a fatal `invalid_api_key`); the session stays open. */
  sendError(code: string, message: string, type = 'invalid_request_error'): void {
    this.sendErrorNow({ type, code, message, param: null, event_id: null });
  }

  /** Sends raw text (or a JSON value) as is, bypassing dialect translation: garbage and size tests. */
  sendRaw(message: string | object): void {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }

  /** The next response(s) of this session follow these plans, before the emulator-wide queue and the defaults. */
  queueResponse(...plans: ResponsePlan[]): void {
    this.planQueue.push(...plans);
  }

  /** Closes the session normally. */
  close(code = 1000, reason = ''): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
    this.cleanup('closed');
  }

  private cleanup(why: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.expiryTimer !== null) this.clock.clearTimer(this.expiryTimer);
    this.expiryTimer = null;
    this.active?.abort();
    this.active = null;
    void this.mcp.close();
    for (const w of this.waiters.splice(0))
      w.reject(new Error(`emulator session ${this.index} ${why} before ${w.direction} ${w.type ?? 'event'}`));
    this.logger.debug({ why }, 'emulator session over');
  }

  // -------------------------------------------------------------------------------------------
  // Sending
  // -------------------------------------------------------------------------------------------

  private emitServer(event: WireObject): void {
    if (this.isClosed) return;
    const { type, ...rest } = event;
    const full: WireObject = { type, event_id: this.idRandom.id('event_'), ...rest };
    const wire = serverEventFromGa(full, this.dialect);
    if (wire === null) return;
    const text = JSON.stringify(wire);
    if (typeof wire['delta'] === 'string' && String(wire['type']).endsWith('audio.delta')) {
      const { delta, ...without } = wire;
      this.record('sent', without, Buffer.byteLength(delta, 'base64'));
    } else {
      this.record('sent', wire);
    }
    if (this.stalled) this.pendingOut.push(text);
    else if (this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }

  private sendErrorNow(error: WireError): void {
    const wire: WireObject = { type: 'error', event_id: this.idRandom.id('event_'), error };
    this.record('sent', wire);
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(wire));
  }

  private replyError(error: WireError, clientEventId: unknown): void {
    const eventId = error.event_id ?? (typeof clientEventId === 'string' ? clientEventId : null);
    this.emitServer({ type: 'error', error: { ...error, event_id: eventId } });
  }

  // -------------------------------------------------------------------------------------------
  // Receiving
  // -------------------------------------------------------------------------------------------

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.isClosed) return;
    try {
      if (isBinary) {
        this.replyError(wireErrors.binaryFrame(), null);
        return;
      }
      const text = wsText(data);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        this.replyError(wireErrors.invalidJson(), null);
        return;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        this.replyError(wireErrors.invalidType('(message)', 'an object', parsed), null);
        return;
      }
      const wire = parsed as WireObject;
      if (wire['type'] === 'input_audio_buffer.append' && typeof wire['audio'] === 'string') {
        const { audio, ...without } = wire;
        this.record('received', without, Buffer.byteLength(audio, 'base64'));
      } else {
        this.record('received', wire);
      }
      const event = clientEventToGa(wire, this.dialect);
      const shapeError = checkClientEvent(event);
      if (shapeError !== null) {
        this.replyError(shapeError, wire['event_id']);
        return;
      }
      this.dispatch(event, wire);
    } catch (err) {
      this.logger.error({ err: describeError(err) }, 'emulator failed on a client event');
      this.replyError(
        {
          type: 'server_error',
          code: 'server_error',
          message: 'The server had an error while processing your request.',
          param: null,
          event_id: null,
        },
        null,
      );
    }
  }

  private dispatch(event: WireObject, wire: WireObject): void {
    const eventId = wire['event_id'];
    switch (event['type']) {
      case 'session.update':
        return this.onSessionUpdate(wire['session'], eventId);
      case 'input_audio_buffer.append':
        return this.onAppend(event['audio'] as string, eventId);
      case 'input_audio_buffer.commit':
        return this.onCommit(eventId);
      case 'input_audio_buffer.clear':
        return this.onClear();
      case 'conversation.item.create':
        return this.onItemCreate(event['item'] as WireObject, event['previous_item_id'], eventId);
      case 'conversation.item.retrieve':
        return this.onItemRetrieve(event['item_id'] as string, eventId);
      case 'conversation.item.truncate':
        return this.onTruncate(
          event['item_id'] as string,
          event['content_index'] as number,
          event['audio_end_ms'] as number,
          eventId,
        );
      case 'conversation.item.delete':
        return this.onItemDelete(event['item_id'] as string, eventId);
      case 'response.create':
        return this.onResponseCreate((event['response'] ?? {}) as WireObject, eventId);
      case 'response.cancel':
        return this.onResponseCancel(event['response_id'], eventId);
      case 'output_audio_buffer.clear':
        return this.replyError(wireErrors.webRtcOnly('output_audio_buffer.clear'), eventId);
      default:
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Session
  // -------------------------------------------------------------------------------------------

  private vadSettings(): { threshold: number; silenceDurationMs: number; prefixPaddingMs: number } | null {
    const td = this.config.ga.audio.input.turn_detection;
    if (td === null) return null;
    if (td['type'] === 'semantic_vad') {
      return {
        threshold: 0.5,
        silenceDurationMs: SEMANTIC_SILENCE_MS[String(td['eagerness'])] ?? 600,
        prefixPaddingMs: 300,
      };
    }
    return {
      threshold: typeof td['threshold'] === 'number' ? td['threshold'] : 0.5,
      silenceDurationMs: typeof td['silence_duration_ms'] === 'number' ? td['silence_duration_ms'] : 500,
      prefixPaddingMs: typeof td['prefix_padding_ms'] === 'number' ? td['prefix_padding_ms'] : 300,
    };
  }

  private onSessionUpdate(session: unknown, eventId: unknown): void {
    const result = applySessionUpdate(this.config, session, this.dialect, this.audioPresent);
    if (!result.ok) {
      this.replyError(result.error, eventId);
      return;
    }
    this.config = result.state;
    const format = emulatorFormat(this.config.ga.audio.input.format) ?? 'pcm16';
    if (format !== this.inputFormat) {
      // Audio of two formats cannot be one utterance: start the buffer afresh.
      this.inputFormat = format;
      this.inputChunks = [];
      this.pcmCarry = null;
      this.vad.reset();
      this.speech = null;
    }
    const vad = this.vadSettings();
    if (vad === null) {
      this.vad.reset();
      this.speech = null;
    } else {
      this.vad.configure(vad);
    }
    this.emitServer({ type: 'session.updated', session: renderSession(this.config, this.dialect) });
    for (const server of this.mcp.configure(mcpToolConfigs(this.config.ga.tools))) this.listMcpTools(server);
  }

  /**
   * Lists a `type: "mcp"` server's tools, as the real API does after `session.update`:
   * conversation.item.added (an empty `mcp_list_tools` item) → mcp_list_tools.in_progress →
   * mcp_list_tools.completed | .failed → conversation.item.done (with the tools).
   */
  private listMcpTools(server: McpToolConfig): void {
    const id = this.idRandom.id('mcpl_');
    const wire: WireObject = { id, type: 'mcp_list_tools', server_label: server.serverLabel, tools: [] };
    const previous = this.addItem(
      { wire: structuredClone(wire), hasAudio: false, audioMs: 0, text: null },
      undefined,
      false,
    );
    this.emitServer({ type: 'conversation.item.added', previous_item_id: previous, item: structuredClone(wire) });
    this.emitServer({ type: 'mcp_list_tools.in_progress', item_id: id });
    void this.mcp.list(server.serverLabel).then((result) => {
      if (this.isClosed) return;
      const tools = 'tools' in result ? result.tools : [];
      const item = this.itemsById.get(id);
      if (item !== undefined) item.wire = { ...wire, tools: structuredClone(tools) };
      if ('error' in result)
        this.logger.debug({ server: server.serverLabel, reason: result.error }, 'emulator: MCP listing failed');
      this.emitServer({ type: 'error' in result ? 'mcp_list_tools.failed' : 'mcp_list_tools.completed', item_id: id });
      this.emitServer({ type: 'conversation.item.done', previous_item_id: previous, item: { ...wire, tools } });
    });
  }

  // -------------------------------------------------------------------------------------------
  // Input audio and VAD
  // -------------------------------------------------------------------------------------------

  private onAppend(audioBase64: string, eventId: unknown): void {
    const bytes = decodeBase64(audioBase64);
    if (bytes === null) {
      this.replyError(wireErrors.invalidAudio(), eventId);
      return;
    }
    if (bytes.length === 0) return;
    let data: Uint8Array = bytes;
    if (this.inputFormat === 'pcm16') {
      // Keep a split sample for the next append.
      if (this.pcmCarry !== null) {
        const joined = Buffer.alloc(bytes.length + 1);
        joined[0] = this.pcmCarry;
        bytes.copy(joined, 1);
        data = joined;
        this.pcmCarry = null;
      }
      if (data.length % 2 === 1) {
        this.pcmCarry = data[data.length - 1]!;
        data = data.subarray(0, data.length - 1);
      }
    }
    const samples = toSamples(data, this.inputFormat);
    if (samples.length === 0) return;
    const rateHz = sampleRateOf(this.inputFormat);
    this.inputChunks.push({ startMs: this.inputClockMs, samples, rateHz });
    this.inputClockMs += (samples.length * 1000) / rateHz;
    this.trimInputBuffer();

    const settings = this.vadSettings();
    if (settings === null) return;
    for (const t of this.vad.push(samples, rateHz)) {
      if (t.kind === 'speechStarted') {
        const itemId = this.idRandom.id('item_');
        const audioStartMs = Math.max(0, Math.round(t.onsetMs - settings.prefixPaddingMs));
        this.speech = { itemId, audioStartMs };
        this.emitServer({ type: 'input_audio_buffer.speech_started', audio_start_ms: audioStartMs, item_id: itemId });
        const td = this.config.ga.audio.input.turn_detection;
        if (this.active !== null && td !== null && td['interrupt_response'] !== false)
          this.active.cancel('turn_detected');
      } else {
        const speech = this.speech ?? { itemId: this.idRandom.id('item_'), audioStartMs: 0 };
        this.speech = null;
        const audioEndMs = Math.round(t.stopMs);
        this.emitServer({
          type: 'input_audio_buffer.speech_stopped',
          audio_end_ms: audioEndMs,
          item_id: speech.itemId,
        });
        this.commitInput(
          speech.itemId,
          speech.audioStartMs,
          audioEndMs,
          Math.min(audioEndMs, t.lastSpeechEndMs + ECHO_TAIL_MS),
        );
        const td = this.config.ga.audio.input.turn_detection;
        if (td !== null && td['create_response'] !== false) {
          if (this.active === null) this.startResponse('turn', {});
          else this.logger.debug('turn ended during a response that was not interrupted; no new response');
        }
      }
    }
  }

  private trimInputBuffer(): void {
    const limit = this.inputClockMs - INPUT_BUFFER_CAP_MS;
    while (this.inputChunks.length > 0) {
      const first = this.inputChunks[0]!;
      if (first.startMs + (first.samples.length * 1000) / first.rateHz > limit) break;
      this.inputChunks.shift();
    }
  }

  private bufferedMs(): number {
    const first = this.inputChunks[0];
    return first === undefined ? 0 : this.inputClockMs - first.startMs;
  }

  /** Samples of the input buffer between two input-clock times. */
  private sliceInput(fromMs: number, toMs: number): { samples: Int16Array; rateHz: number } {
    const rateHz = sampleRateOf(this.inputFormat);
    const parts: Int16Array[] = [];
    for (const chunk of this.inputChunks) {
      const chunkEnd = chunk.startMs + (chunk.samples.length * 1000) / chunk.rateHz;
      if (chunkEnd <= fromMs || chunk.startMs >= toMs) continue;
      const a = Math.max(0, Math.round(((fromMs - chunk.startMs) * chunk.rateHz) / 1000));
      const b = Math.min(chunk.samples.length, Math.round(((toMs - chunk.startMs) * chunk.rateHz) / 1000));
      if (b > a) parts.push(chunk.samples.subarray(a, b));
    }
    const total = parts.reduce((n, p) => n + p.length, 0);
    const out = new Int16Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return { samples: out, rateHz };
  }

  /** Drops input up to `toMs` (what was committed); the rest stays for the next turn. */
  private dropInputUntil(toMs: number): void {
    const kept: InputChunk[] = [];
    for (const chunk of this.inputChunks) {
      const chunkEnd = chunk.startMs + (chunk.samples.length * 1000) / chunk.rateHz;
      if (chunkEnd <= toMs) continue;
      if (chunk.startMs >= toMs) kept.push(chunk);
      else {
        const cut = Math.round(((toMs - chunk.startMs) * chunk.rateHz) / 1000);
        kept.push({
          startMs: chunk.startMs + (cut * 1000) / chunk.rateHz,
          samples: chunk.samples.subarray(cut),
          rateHz: chunk.rateHz,
        });
      }
    }
    this.inputChunks = kept;
  }

  /** Commits input [fromMs, toMs) as a user audio item; echoes [fromMs, echoToMs) later. */
  private commitInput(itemId: string, fromMs: number, toMs: number, echoToMs: number): void {
    const utterance = this.sliceInput(fromMs, echoToMs);
    this.lastUtterance = utterance.samples.length > 0 ? utterance : this.lastUtterance;
    this.dropInputUntil(toMs);
    const durationMs = Math.max(0, toMs - fromMs);
    const previous = this.lastConversationItemId();
    this.emitServer({ type: 'input_audio_buffer.committed', previous_item_id: previous, item_id: itemId });
    const wireItem: WireObject = {
      id: itemId,
      object: 'realtime.item',
      type: 'message',
      status: 'completed',
      role: 'user',
      content: [{ type: 'input_audio', transcript: null }],
    };
    this.addItem({ wire: wireItem, hasAudio: true, audioMs: durationMs, text: null }, null);
    const transcription = this.config.ga.audio.input.transcription;
    if (transcription !== null) {
      // No ASR here: a placeholder that says what was heard, clearly not words.
      const transcript = `[caller speech ${(durationMs / 1000).toFixed(1)} s]`;
      this.emitServer({
        type: 'conversation.item.input_audio_transcription.delta',
        item_id: itemId,
        content_index: 0,
        delta: transcript,
      });
      this.emitServer({
        type: 'conversation.item.input_audio_transcription.completed',
        item_id: itemId,
        content_index: 0,
        transcript,
        usage: { type: 'duration', seconds: Math.round(durationMs / 100) / 10 },
      });
      const item = this.itemsById.get(itemId);
      if (item !== undefined) item.text = transcript;
    }
  }

  private onCommit(eventId: unknown): void {
    const buffered = this.bufferedMs();
    if (buffered < MIN_COMMIT_MS) {
      this.replyError(wireErrors.commitTooSmall(buffered), eventId);
      return;
    }
    const itemId = this.speech?.itemId ?? this.idRandom.id('item_');
    const fromMs = this.inputChunks[0]!.startMs;
    this.speech = null;
    this.vad.reset();
    this.commitInput(itemId, fromMs, this.inputClockMs, this.inputClockMs);
  }

  private onClear(): void {
    this.inputChunks = [];
    this.pcmCarry = null;
    this.speech = null;
    this.vad.reset();
    this.emitServer({ type: 'input_audio_buffer.cleared' });
  }

  // -------------------------------------------------------------------------------------------
  // Conversation
  // -------------------------------------------------------------------------------------------

  private lastConversationItemId(): string | null {
    for (let i = this.conversation.length - 1; i >= 0; i--)
      if (!this.conversation[i]!.outOfBand) return this.conversation[i]!.id;
    return null;
  }

  /**
   * Adds an item (after `previousItemId` when given, else at the end), announces it with
   * conversation.item.added (+ .done in GA), and returns its previous item id.
   */
  private addItem(
    init: { wire: WireObject; hasAudio: boolean; audioMs: number; text: string | null },
    after: string | null | undefined,
    announce = true,
  ): string | null {
    const wire = init.wire;
    const role = wire['role'];
    const item: ConvItem = {
      id: String(wire['id']),
      type: String(wire['type']),
      role: role === 'user' || role === 'assistant' || role === 'system' ? role : null,
      status: typeof wire['status'] === 'string' ? wire['status'] : 'completed',
      audioMs: init.audioMs,
      text: init.text,
      callId: typeof wire['call_id'] === 'string' ? wire['call_id'] : null,
      name: typeof wire['name'] === 'string' ? wire['name'] : null,
      wire,
      hasAudio: init.hasAudio,
      outOfBand: false,
    };
    let index = this.conversation.length;
    if (after !== undefined && after !== null) index = this.conversation.findIndex((i) => i.id === after) + 1;
    const previous = index > 0 ? this.conversation[index - 1]!.id : null;
    this.conversation.splice(index, 0, item);
    this.itemsById.set(item.id, item);
    if (item.role !== 'assistant') this.itemsSinceResponse.push(item);
    if (announce) {
      this.emitServer({ type: 'conversation.item.added', previous_item_id: previous, item: structuredClone(wire) });
      this.emitServer({ type: 'conversation.item.done', previous_item_id: previous, item: structuredClone(wire) });
    }
    return previous;
  }

  private onItemCreate(item: WireObject, previousItemId: unknown, eventId: unknown): void {
    if (typeof previousItemId === 'string' && !this.itemsById.has(previousItemId)) {
      this.replyError(wireErrors.itemNotFound('previous_item_id', previousItemId), eventId);
      return;
    }
    const id = typeof item['id'] === 'string' && item['id'] !== '' ? item['id'] : this.idRandom.id('item_');
    if (this.itemsById.has(id)) {
      this.replyError(wireErrors.duplicateItemId(id), eventId);
      return;
    }
    if (item['type'] === 'function_call_output') {
      const callId = item['call_id'] as string;
      if (!this.conversation.some((i) => i.type === 'function_call' && i.callId === callId)) {
        this.replyError(wireErrors.unknownCallId(callId), eventId);
        return;
      }
    }
    const content = Array.isArray(item['content']) ? (item['content'] as WireObject[]) : [];
    const texts = content
      .map((p) => (typeof p['text'] === 'string' ? p['text'] : null))
      .filter((t): t is string => t !== null);
    const hasAudio = content.some((p) => p['type'] === 'input_audio' || p['type'] === 'output_audio');
    // Audio content arrives base64 in `audio`; the echo line plays the latest user audio.
    const audioPart = content.find((p) => p['type'] === 'input_audio' && typeof p['audio'] === 'string');
    let audioMs = 0;
    if (audioPart !== undefined) {
      const bytes = decodeBase64(audioPart['audio'] as string);
      if (bytes !== null && bytes.length > 0) {
        const samples = toSamples(bytes, this.inputFormat);
        this.lastUtterance = { samples, rateHz: sampleRateOf(this.inputFormat) };
        audioMs = bytes.length / modelAudioBytesPerMs(this.inputFormat);
      }
    }
    const wire: WireObject = {
      ...item,
      id,
      object: 'realtime.item',
      status: 'completed',
      // Audio bytes are not echoed back (the real API omits them in item events as well).
      ...(Array.isArray(item['content']) ? { content: content.map(({ audio: _audio, ...rest }) => rest) } : {}),
    };
    const text =
      item['type'] === 'function_call_output' ? (item['output'] as string) : texts.length > 0 ? texts.join(' ') : null;
    this.addItem({ wire, hasAudio, audioMs, text }, typeof previousItemId === 'string' ? previousItemId : undefined);
  }

  private onItemRetrieve(itemId: string, eventId: unknown): void {
    const item = this.itemsById.get(itemId);
    if (item === undefined) {
      this.replyError(wireErrors.itemNotFound('item_id', itemId), eventId);
      return;
    }
    this.emitServer({ type: 'conversation.item.retrieved', item: structuredClone(item.wire) });
  }

  private onItemDelete(itemId: string, eventId: unknown): void {
    const item = this.itemsById.get(itemId);
    if (item === undefined) {
      this.replyError(wireErrors.itemNotFound('item_id', itemId), eventId);
      return;
    }
    this.itemsById.delete(itemId);
    this.conversation.splice(this.conversation.indexOf(item), 1);
    this.itemsSinceResponse = this.itemsSinceResponse.filter((i) => i !== item);
    this.emitServer({ type: 'conversation.item.deleted', item_id: itemId });
  }

  private onTruncate(itemId: string, contentIndex: number, audioEndMs: number, eventId: unknown): void {
    const item = this.itemsById.get(itemId);
    if (item === undefined) {
      this.replyError(wireErrors.itemNotFound('item_id', itemId), eventId);
      return;
    }
    if (item.role !== 'assistant' || item.type !== 'message' || !item.hasAudio) {
      this.replyError(wireErrors.truncateNotAssistant(itemId), eventId);
      return;
    }
    if (contentIndex !== 0) {
      this.replyError(wireErrors.invalidValue('content_index', contentIndex), eventId);
      return;
    }
    const audioMs = Math.floor(item.audioMs);
    if (audioEndMs > audioMs) {
      // Observed upstream with `event_id: null` (PROTOCOLS §6.3).
      this.replyError(wireErrors.truncateTooLong(audioMs, audioEndMs), null);
      return;
    }
    item.audioMs = audioEndMs;
    // Truncation deletes the server-side transcript: the context holds nothing the caller did not hear.
    item.text = null;
    const content = Array.isArray(item.wire['content']) ? (item.wire['content'] as WireObject[]) : [];
    item.wire = {
      ...item.wire,
      content: content.map((p) => (p['type'] === 'output_audio' ? { ...p, transcript: '' } : p)),
    };
    this.emitServer({
      type: 'conversation.item.truncated',
      item_id: itemId,
      content_index: contentIndex,
      audio_end_ms: audioEndMs,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Responses
  // -------------------------------------------------------------------------------------------

  private onResponseCreate(params: WireObject, eventId: unknown): void {
    if (this.active !== null) {
      this.replyError(wireErrors.activeResponse(this.active.id), eventId);
      return;
    }
    const modalities = params['output_modalities'];
    if (
      modalities !== undefined &&
      (!Array.isArray(modalities) || modalities.length !== 1 || (modalities[0] !== 'audio' && modalities[0] !== 'text'))
    ) {
      this.replyError(wireErrors.invalidValue('response.output_modalities', modalities, ['audio', 'text']), eventId);
      return;
    }
    const conversation = params['conversation'];
    if (conversation !== undefined && conversation !== 'auto' && conversation !== 'none') {
      this.replyError(wireErrors.invalidValue('response.conversation', conversation, ['auto', 'none']), eventId);
      return;
    }
    this.startResponse('client', params);
  }

  private onResponseCancel(responseId: unknown, eventId: unknown): void {
    if (this.active === null || (typeof responseId === 'string' && responseId !== this.active.id)) {
      this.replyError(wireErrors.cancelNotActive(), eventId);
      return;
    }
    this.active.cancel('client_cancelled');
  }

  private choosePlan(request: ResponseRequest): ResponsePlan {
    return this.planQueue.shift() ?? this.takeQueuedPlan() ?? this.responder?.(request) ?? defaultPlan(request);
  }

  private echoSegment(format: EmulatorAudioFormat): { audio: Buffer; transcript: string } {
    const utterance = this.lastUtterance;
    const rateHz = utterance?.rateHz ?? sampleRateOf(format);
    const beep = tone(ECHO_TONE_MS, ECHO_TONE_HZ, rateHz, ECHO_TONE_AMPLITUDE);
    const gap = new Int16Array(Math.round((ECHO_GAP_MS * rateHz) / 1000));
    const body = utterance?.samples ?? new Int16Array(0);
    const all = new Int16Array(beep.length + gap.length + body.length);
    all.set(beep, 0);
    all.set(gap, beep.length);
    all.set(body, beep.length + gap.length);
    const transcript =
      body.length === 0
        ? 'Echo test: I did not hear anything to play back.'
        : `Echo test: here is what you said, ${(body.length / rateHz).toFixed(1)} seconds, played back.`;
    return { audio: fromSamples(all, rateHz, format), transcript };
  }

  private clipSegment(
    name: string,
    format: EmulatorAudioFormat,
    transcript: string | undefined,
  ): { audio: Buffer; transcript: string } {
    const clip = this.clips.render(name, format) ?? this.clips.render('reply', format);
    if (clip === null) return { audio: Buffer.alloc(0), transcript: transcript ?? '' };
    return { audio: clip.audio, transcript: transcript ?? clip.transcript };
  }

  private startResponse(trigger: 'turn' | 'client', params: WireObject): void {
    const ga = this.config.ga;
    const paramsAudio = (params['audio'] as WireObject | undefined)?.['output'] as WireObject | undefined;
    const outputFormatWire = (paramsAudio?.['format'] as WireObject | undefined) ?? ga.audio.output.format;
    const format = emulatorFormat(outputFormatWire) ?? 'pcm16';
    const voice = typeof paramsAudio?.['voice'] === 'string' ? paramsAudio['voice'] : ga.audio.output.voice;
    const modalities = (params['output_modalities'] as string[] | undefined) ?? ga.output_modalities;
    const modality: 'audio' | 'text' = modalities[0] === 'text' ? 'text' : 'audio';
    const outOfBand = params['conversation'] === 'none';

    const request: ResponseRequest = {
      trigger,
      params,
      newItems: this.itemsSinceResponse.map((i) => ({
        type: i.type,
        role: i.role,
        hasAudio: i.hasAudio,
        text: i.text,
      })),
      modality,
      sessionId: this.id,
    };
    const plan = this.choosePlan(request);
    if (!outOfBand) this.itemsSinceResponse = [];

    const segments: ResponseSegment[] = [];
    const speak = (source: { audio: Buffer; transcript: string }): void => {
      segments.push(
        modality === 'text'
          ? { kind: 'text', text: source.transcript }
          : { kind: 'audio', audio: source.audio, format, transcript: source.transcript },
      );
    };
    switch (plan.kind) {
      case 'clip':
        speak(this.clipSegment(plan.clip, format, plan.transcript));
        break;
      case 'echo':
        speak(this.echoSegment(format));
        break;
      case 'text':
        if (modality === 'text') segments.push({ kind: 'text', text: plan.text });
        else speak(this.clipSegment('reply', format, plan.text));
        break;
      case 'toolCall': {
        if (plan.before === 'echo') speak(this.echoSegment(format));
        else if (plan.before !== undefined) speak(this.clipSegment(plan.before.clip, format, plan.before.transcript));
        for (const call of [plan, ...(plan.more ?? [])]) {
          const args = typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
          const server = this.isFunctionTool(call.name) ? null : this.mcp.ownerOf(call.name);
          if (server !== null) {
            segments.push({ kind: 'mcpCall', serverLabel: server, name: call.name, arguments: args });
            continue;
          }
          segments.push({
            kind: 'functionCall',
            name: call.name,
            arguments: args,
            callId: call.callId ?? this.idRandom.id('call_'),
          });
        }
        break;
      }
      case 'fail':
        break;
    }

    const responseFields: WireObject = {
      conversation_id: outOfBand ? null : `conv_${this.id.slice(5)}`,
      output_modalities: [modality],
      max_output_tokens: params['max_output_tokens'] ?? ga.max_output_tokens,
      audio: { output: { format: structuredClone(outputFormatWire), voice } },
      metadata: params['metadata'] ?? null,
    };
    const run = new ResponseRun(this.responseHost(outOfBand), {
      id: this.idRandom.id('resp_'),
      segments,
      pacing: { ...this.basePacing, ...definedOnly(plan.pacing) },
      responseFields,
      outOfBand,
      rng: this.pacingRandom,
      ...(plan.kind === 'fail'
        ? { fail: { code: plan.code ?? 'server_error', message: plan.message ?? 'The model failed to respond.' } }
        : {}),
    });
    this.active = run;
    run.start();
  }

  /** A `type: "function"` tool of the session is named `name` (it wins over an MCP tool of that name). */
  private isFunctionTool(name: string): boolean {
    return this.config.ga.tools.some((t) => t['type'] === 'function' && t['name'] === name);
  }

  private responseHost(outOfBand: boolean): ResponseHost {
    return {
      clock: this.clock,
      callMcp: (serverLabel, name, args) => this.mcp.call(serverLabel, name, args),
      emit: (event) => this.emitServer(event),
      newId: (prefix) => this.idRandom.id(prefix),
      addOutputItem: (item, audioFormat) => {
        if (outOfBand) return undefined;
        return this.addItem({ wire: item, hasAudio: audioFormat !== null, audioMs: 0, text: null }, undefined, false);
      },
      outputAudioSent: (itemId, totalMs) => {
        this.audioPresent = true;
        const item = this.itemsById.get(itemId);
        if (item !== undefined) item.audioMs = totalMs;
      },
      outputItemDone: (wire) => {
        const item = this.itemsById.get(String(wire['id']));
        if (item === undefined) return;
        item.wire = wire;
        item.status = String(wire['status']);
        const content = Array.isArray(wire['content']) ? (wire['content'] as WireObject[]) : [];
        const text = content
          .map((p) => p['transcript'] ?? p['text'])
          .filter((t): t is string => typeof t === 'string' && t !== '');
        item.text = text.length > 0 ? text.join(' ') : typeof wire['arguments'] === 'string' ? wire['arguments'] : null;
      },
      inputTokens: () => {
        let text = 0;
        let audio = 0;
        for (const i of this.conversation) {
          if (i.role === 'assistant') continue;
          text += Math.ceil((i.text?.length ?? 0) / CHARS_PER_TOKEN);
          audio += Math.ceil((i.audioMs / 1000) * INPUT_AUDIO_TOKENS_PER_S);
        }
        text += Math.ceil(this.config.ga.instructions.length / CHARS_PER_TOKEN);
        return { text, audio };
      },
      finished: (run) => {
        if (this.active === run) this.active = null;
      },
    };
  }
}

function definedOnly(pacing: Pacing | undefined): Partial<Required<Pacing>> {
  const out: Partial<Required<Pacing>> = {};
  if (pacing === undefined) return out;
  for (const [k, v] of Object.entries(pacing) as [keyof Pacing, number | undefined][]) if (v !== undefined) out[k] = v;
  return out;
}
