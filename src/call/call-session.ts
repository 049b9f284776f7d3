/**
 * CallSession — the one brain (DESIGN "one brain", SPEC §6).
 *
 * `handle(event) → CallCommand[]`, synchronous, with time read only from the injected clock.
 * It owns start-up buffering, the greeting, audio both ways, the playback ledger, barge-in,
 * tools, recovery and teardown. Because barge-in's Twilio `clear`, `response.cancel` and
 * `conversation.item.truncate` come out of one `handle` call, they go out in one turn of the
 * event loop by construction.
 *
 * Phases and transitions:
 *
 * ```
 *   awaitingStart ──twilio.start──► connecting ──model.open──► live
 *        │                              │                       │  model.closed(retry) → model down:
 *        │                              │                       │  caller audio buffered, restored on
 *        │                              │                       │  model.open(reconnect)
 *        │                              │ model.failed          │ model.failed ─► ending(error): apology
 *        │                              └───────────────────────┤ hang_up tool ─► ending(hang_up_tool)
 *        │                                                      │ transfer_call ─► ending(transferred)
 *        │                                                      │   (each waits for its last audio to
 *        │                                                      │    play, then REST or socket close)
 *        └──────────── twilio.stop / twilio.closed (any phase) ─┴──────────────► ended
 *                                            ending ── rest.done / twilio.closed / endFallback ─► ended
 * ```
 */
import {
  createCallerToModel,
  createModelToCaller,
  type CallerToModel,
  type ModelToCaller,
} from '../audio/transcoder.js';
import type { Profile } from '../config/numbers.js';
import type { ModelCommand, ModelEvent, SessionConfig, TurnDetection } from '../protocol/realtime.js';
import type { Clock } from '../util/clock.js';
import type { CallCommand, CallEvent, CallLimitReason, CallOutcome, TimerName } from './events.js';
import { PlaybackLedger, type AudioItemKey } from './playback-ledger.js';
import { isBuiltinTool, toolDefinitions, toolReason } from './tools.js';

/** Twilio sends (and expects) 20 ms μ-law frames: 8 bytes per ms. */
const MULAW_BYTES_PER_MS = 8;
/** One outbound Twilio frame. */
const FRAME_MS = 20;

/**
 * Tuning, each value with its reason. Tests and the replayer may override them (a test seam,
 * not configuration).
 */
export interface SessionTuning {
  /**
   * Added to the last echoed mark when truncating. The echo reached us late by the
   * Twilio→bridge delay, and the caller keeps hearing audio until our `clear` reaches Twilio;
   * marks every {@link markIntervalMs} also put the last echo up to one interval behind. 50 ms
   * with 60 ms marks keeps the error within −10…+50 ms on loopback (measured in the barge-in
   * integration test) and never exceeds what was sent.
   */
  truncationCushionMs: number;
  /**
   * A mark after every this-many ms of assistant audio (SPEC: at least every 100 ms). 60 ms
   * (3 frames) bounds the truncation error by the interval while adding only ~17 small
   * messages per second of speech.
   */
  markIntervalMs: number;
  /** Caller audio kept while the model is not connected (start-up or reconnect); older audio is dropped beyond it. */
  maxBufferedInputMs: number;
  /**
   * Caller frames (20 ms each) per `input_audio_buffer.append`. Every append is a WebSocket
   * message and a socket write of its own, 50 a second per call at 1; 2 halves them, at the
   * cost of one frame of caller→model latency for every other frame (it waits for its
   * partner). Measured with the load bench, 200 calls, two runs each, server CPU per
   * call-second at 1 → 2: pcm16 4.29 / 3.91 → 3.70 / 3.49 ms, pcmu 2.82 / 2.70 → 2.30 / 2.02 ms;
   * caller→model p50 +10 ms, p99 +20 ms. The model's VAD waits for hundreds of ms of silence,
   * so 20 ms more does not change when a turn ends; 1 sends every frame at once.
   */
  callerFramesPerAppend: number;
  /** Largest `media.timestamp` gap filled with silence; a bigger jump is a clock reset, not lost frames. */
  maxGapFillMs: number;
  /**
   * The model owes an answer (a response in progress or an acknowledgement) and has sent
   * nothing for this long → reconnect. A live model silent this long with nothing owed is
   * probed (a `session.update` that changes nothing — not the full config: re-sending the
   * voice after audio has played, or VAD settings mid-utterance, is not harmless on every
   * deployment), so a stall is found even while the caller talks.
   */
  modelStallTimeoutMs: number;
  /** Renew the model session this long before the provider's `expires_at`. */
  sessionRenewLeadMs: number;
  /** DTMF digits pressed within this window go to the model as one text item. */
  dtmfDebounceMs: number;
  /** After the last audio was sent, how long past its play-out the end waits for the final mark. */
  endGraceMs: number;
}

export const DEFAULT_TUNING: SessionTuning = {
  truncationCushionMs: 50,
  markIntervalMs: 60,
  maxBufferedInputMs: 15_000,
  callerFramesPerAppend: 2,
  maxGapFillMs: 2_000,
  modelStallTimeoutMs: 8_000,
  sessionRenewLeadMs: 120_000,
  dtmfDebounceMs: 1_200,
  endGraceMs: 2_000,
};

export interface CallInfo {
  callSid: string;
  from: string;
  to: string;
}

export interface CallSessionOptions {
  clock: Clock;
  profile: Profile;
  call: CallInfo;
  /** μ-law 8 kHz audio played when the model cannot be reached */
  apologyMulaw: Uint8Array;
  /** Twilio REST credentials exist (hang-up and transfer through the API) */
  canUseRest: boolean;
  tuning?: Partial<SessionTuning>;
}

type Phase =
  | { name: 'awaitingStart' }
  | { name: 'connecting' }
  | { name: 'live' }
  | { name: 'ending'; outcome: CallOutcome; detail: string | null; action: EndAction; started: boolean }
  | { name: 'ended'; outcome: CallOutcome };

/** How a call leaves once its last audio has played. */
type EndAction = 'hangUp' | 'transfer' | 'close';

interface ActiveResponse {
  id: string;
  greeting: boolean;
}

/**
 * The assistant's words per item. A turn is stored once the caller has heard it: in full
 * when its audio has played out, cut to what was heard at a barge-in or at the end of the call.
 */
interface AssistantTurn {
  /** transcript deltas so far */
  text: string;
  /** the final transcript, once `transcript.done` arrived */
  transcript: string | null;
  /** ms of audio received from the model for this item */
  receivedMs: number;
  /** every frame of the item has played (its marks came back) */
  playedOut: boolean;
  settled: boolean;
}

const GREETING_INSTRUCTIONS = (greeting: string) =>
  `Greet the caller now. Say exactly the following, then stop and wait for the caller: "${greeting}"`;
const GOODBYE_INSTRUCTIONS = (goodbye: string) =>
  `The call has reached its time limit and ends now. Say exactly the following, then stop: "${goodbye}"`;
/** `pendingEnd.responseId` while the goodbye's response has not been created yet. */
const GOODBYE_NOT_CREATED = '\u0000goodbye';
/**
 * Longest wait for the goodbye at MAX_CALL_DURATION_S: the answer in progress finishing, then
 * the goodbye itself (a sentence, ~3 s); a model that never says it does not hold the call open.
 */
const GOODBYE_MAX_MS = 20_000;

/** Keeps the restored conversation inside the model's context after a reconnect. */
const MAX_HISTORY_TURNS = 40;
/**
 * Assistant items whose words are tracked; older settled ones are forgotten. Without a bound
 * a long call keeps every answer twice (here and in the history): the load bench's 10-minute
 * soak of 100 calls grew ~1 MB a minute, ~600 bytes per answer. 64 items cover any late event
 * of a recent item (a transcript after a barge-in settled it).
 */
const MAX_TRACKED_ASSISTANT_ITEMS = 64;

const ALL_TIMERS: readonly TimerName[] = ['dtmf', 'endFallback', 'sessionRenew', 'modelStall', 'apologyDone'];

export class CallSession {
  readonly tuning: SessionTuning;
  private phase: Phase = { name: 'awaitingStart' };
  private readonly clock: Clock;
  private readonly profile: Profile;
  private readonly callerToModel: CallerToModel;
  private readonly modelToCaller: ModelToCaller;
  private readonly ledger = new PlaybackLedger();
  private readonly markIntervalFrames: number;
  private readonly modelBytesPerMs: number;

  private modelOpen = false;
  private twilioOpen = true;
  private inputBuffer: Uint8Array[] = [];
  /** Caller μ-law waiting for the rest of its append (see {@link SessionTuning.callerFramesPerAppend}). */
  private appendBatch: Buffer[] = [];
  private appendBatchBytes = 0;
  private readonly appendMulawBytes: number;
  private inputBufferedMs = 0;
  private droppedInputMs = 0;
  private nextMediaTimestampMs: number | null = null;

  private activeResponse: ActiveResponse | null = null;
  private greetingRequested = false;
  private greetingResponseId: string | null = null;
  private greetingPlayed = false;
  private interruptResponse: boolean;
  private readonly discarded = new Set<string>();
  private currentAudio: AudioItemKey | null = null;
  private framesSinceMark = 0;
  private readonly assistantTurns = new Map<string, AssistantTurn>();
  private readonly history: { role: 'user' | 'assistant'; text: string }[] = [];
  private readonly functionNames = new Map<string, string>();
  private pendingEnd: {
    outcome: CallOutcome;
    action: EndAction;
    responseId: string | null;
    detail: string | null;
  } | null = null;
  private pendingResponseCreate = false;
  /** MAX_CALL_DURATION_S was reached during a response: the goodbye follows once it is done */
  private goodbyeOwed = false;
  private awaitingAck = false;
  private dtmfDigits = '';
  private firstAudioSince: { atMs: number; afterCallerTurn: boolean } | null = null;
  private expiresAtMs: number | null = null;
  private bargeIns = 0;

  constructor(private readonly options: CallSessionOptions) {
    this.tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.clock = options.clock;
    this.profile = options.profile;
    this.callerToModel = createCallerToModel(this.profile.modelAudio);
    this.modelToCaller = createModelToCaller(this.profile.modelAudio);
    this.markIntervalFrames = Math.max(1, Math.round(this.tuning.markIntervalMs / FRAME_MS));
    this.modelBytesPerMs = this.profile.modelAudio === 'pcm16' ? 48 : MULAW_BYTES_PER_MS;
    this.appendMulawBytes = Math.max(1, this.tuning.callerFramesPerAppend) * FRAME_MS * MULAW_BYTES_PER_MS;
    // A greeting that must not be interrupted also must not be cancelled by the server's VAD.
    this.interruptResponse = !(this.profile.greeting !== null && !this.profile.greetingInterruptible);
  }

  /** The current phase name (for logs, metrics and tests). */
  get phaseName(): Phase['name'] {
    return this.phase.name;
  }

  get outcome(): CallOutcome | null {
    return this.phase.name === 'ended' ? this.phase.outcome : null;
  }

  get bargeInCount(): number {
    return this.bargeIns;
  }

  /** The session configuration sent with every `session.update`. */
  sessionConfig(): SessionConfig {
    const td = this.profile.turnDetection;
    const turnDetection: TurnDetection =
      td.type === 'server_vad'
        ? {
            type: 'server_vad',
            threshold: td.threshold,
            prefixPaddingMs: td.prefixPaddingMs,
            silenceDurationMs: td.silenceDurationMs,
            createResponse: true,
            interruptResponse: this.interruptResponse,
          }
        : {
            type: 'semantic_vad',
            eagerness: td.eagerness,
            createResponse: true,
            interruptResponse: this.interruptResponse,
          };
    return {
      instructions: this.profile.instructions,
      voice: this.profile.voice,
      audioFormat: this.profile.modelAudio,
      turnDetection,
      transcription: this.profile.transcription,
      tools: toolDefinitions(this.profile.tools),
    };
  }

  /** One event in, the commands it causes out. Never throws on well-typed input. */
  handle(event: CallEvent): CallCommand[] {
    const out: CallCommand[] = [];
    if (this.phase.name === 'ended') return out;
    switch (event.type) {
      case 'twilio.connected':
        break;
      case 'twilio.start':
        this.onStart(out);
        break;
      case 'twilio.media':
        this.onCallerAudio(event.timestampMs, event.payload, out);
        break;
      case 'twilio.mark':
        this.onMark(event.name, out);
        break;
      case 'twilio.dtmf':
        this.onDtmf(event.digit, out);
        break;
      case 'twilio.stop':
        this.finish(this.endingOutcome('caller_hung_up'), this.endingDetail('stream stopped'), out, false);
        break;
      case 'twilio.closed':
        this.twilioOpen = false;
        this.finish(
          this.endingOutcome('caller_hung_up'),
          this.endingDetail(`media socket closed (${event.code})`),
          out,
          false,
        );
        break;
      case 'model.open':
        this.onModelOpen(event.reconnect, out);
        break;
      case 'model.closed':
        this.onModelClosed(event.willRetry, event.code, out);
        break;
      case 'model.failed':
        this.onModelFailed(event.message, out);
        break;
      case 'timer.fired':
        this.onTimer(event.name, out);
        break;
      case 'rest.done':
        this.onRestDone(event.action, event.ok, event.error, out);
        break;
      case 'call.terminate':
        this.finish('completed', event.reason, out, true);
        break;
      case 'call.limit':
        this.onLimit(event.reason, out);
        break;
      default:
        this.onModelEvent(event, out);
        this.watchModel(out);
    }
    return out;
  }

  // ── Twilio side ────────────────────────────────────────────────────────────

  private onStart(out: CallCommand[]): void {
    if (this.phase.name !== 'awaitingStart') {
      out.push({ type: 'log', level: 'warn', msg: 'duplicate start ignored' });
      return;
    }
    this.phase = { name: 'connecting' };
    if (this.profile.greeting !== null) this.firstAudioSince = { atMs: this.clock.now(), afterCallerTurn: false };
    out.push({ type: 'model.connect' });
  }

  private onCallerAudio(timestampMs: number, payload: Buffer, out: CallCommand[]): void {
    if (this.phase.name !== 'connecting' && this.phase.name !== 'live') return;
    if (payload.length === 0) return;
    // Twilio may skip silent frames: fill the gap so the model's VAD hears the silence and
    // closes the turn, and its audio clock stays in line with Twilio's.
    if (this.nextMediaTimestampMs !== null) {
      const gapMs = timestampMs - this.nextMediaTimestampMs;
      if (gapMs >= FRAME_MS && gapMs <= this.tuning.maxGapFillMs) {
        this.sendCallerAudio(Buffer.alloc(gapMs * MULAW_BYTES_PER_MS, 0xff), out);
      }
    }
    this.nextMediaTimestampMs = Math.max(
      this.nextMediaTimestampMs ?? 0,
      timestampMs + payload.length / MULAW_BYTES_PER_MS,
    );
    this.sendCallerAudio(payload, out);
  }

  private sendCallerAudio(mulaw: Buffer, out: CallCommand[]): void {
    if (this.modelOpen) {
      // Batched as μ-law and transcoded once per append: chunking does not change the output,
      // and one transcode allocates one buffer instead of one per frame plus a concatenation.
      this.appendBatch.push(mulaw);
      this.appendBatchBytes += mulaw.length;
      if (this.appendBatchBytes < this.appendMulawBytes) return;
      const audio = this.callerToModel.push(this.takeAppendBatch());
      if (audio.length > 0) out.push({ type: 'model.appendAudio', audio });
      return;
    }
    const audio = this.callerToModel.push(mulaw);
    if (audio.length === 0) return;
    // Not connected (yet, or again): keep the audio in order, bounded.
    this.inputBuffer.push(audio);
    this.inputBufferedMs += audio.length / this.modelBytesPerMs;
    while (this.inputBufferedMs > this.tuning.maxBufferedInputMs && this.inputBuffer.length > 1) {
      const dropped = this.inputBuffer.shift()!;
      const ms = dropped.length / this.modelBytesPerMs;
      this.inputBufferedMs -= ms;
      if (this.droppedInputMs === 0)
        out.push({
          type: 'log',
          level: 'warn',
          msg: 'caller audio dropped while the model is unavailable',
          fields: { bufferMs: this.tuning.maxBufferedInputMs },
        });
      this.droppedInputMs += ms;
    }
  }

  /** The μ-law waiting for its append, as one buffer; the batch is empty afterwards. */
  private takeAppendBatch(): Buffer {
    const batch = this.appendBatch;
    const bytes = this.appendBatchBytes;
    this.appendBatch = [];
    this.appendBatchBytes = 0;
    return batch.length === 1 ? batch[0]! : Buffer.concat(batch, bytes);
  }

  private onMark(name: string, out: CallCommand[]): void {
    const result = this.ledger.markEchoed(name);
    if (result.kind === 'unknown') {
      out.push({ type: 'log', level: 'debug', msg: 'unknown mark echoed', fields: { name: name.slice(0, 64) } });
      return;
    }
    if (result.kind === 'stale') return;
    for (const item of this.ledger.prune()) {
      const turn = this.turn(item.itemId);
      turn.playedOut = true;
      if (turn.transcript !== null) this.settleAssistantTurn(item.itemId, null, out);
    }
    this.checkGreetingPlayed(out);
    this.checkEnd(out);
  }

  private onDtmf(digit: string, out: CallCommand[]): void {
    if (this.phase.name !== 'live') return;
    this.dtmfDigits += digit;
    out.push({ type: 'timer.set', name: 'dtmf', delayMs: this.tuning.dtmfDebounceMs });
  }

  private sendDtmf(out: CallCommand[]): void {
    const digits = this.dtmfDigits;
    this.dtmfDigits = '';
    if (digits === '' || this.phase.name !== 'live') return;
    const text = `The caller pressed these keys on the phone keypad: ${digits.split('').join(' ')}`;
    this.remember({ role: 'user', text });
    this.sendToModel({ type: 'model.createItem', item: { kind: 'message', role: 'user', text } }, out);
    this.requestResponse(out);
  }

  // ── model connection ───────────────────────────────────────────────────────

  private onModelOpen(reconnect: boolean, out: CallCommand[]): void {
    if (this.phase.name === 'ending' && this.phase.outcome === 'error') return;
    this.modelOpen = true;
    this.sendToModel({ type: 'model.updateSession', session: this.sessionConfig() }, out);
    if (reconnect) {
      // Restore the conversation so far as text, so the model knows what was said: the turns
      // already heard, then what the assistant is still saying (its audio keeps playing).
      const playing = [...this.assistantTurns.values()]
        .filter((t) => !t.settled && (t.transcript ?? t.text).trim() !== '')
        .map((t) => ({ role: 'assistant' as const, text: (t.transcript ?? t.text).trim() }));
      const restored = [...this.history, ...playing].slice(-MAX_HISTORY_TURNS);
      for (const turn of restored) {
        out.push({ type: 'model.createItem', item: { kind: 'message', role: turn.role, text: turn.text } });
      }
      out.push({ type: 'log', level: 'info', msg: 'model session restored', fields: { turns: restored.length } });
    }
    for (const audio of this.inputBuffer) out.push({ type: 'model.appendAudio', audio });
    this.inputBuffer = [];
    this.inputBufferedMs = 0;
    if (this.phase.name === 'connecting') this.phase = { name: 'live' };
    if (!this.greetingRequested && this.profile.greeting !== null && this.phase.name === 'live') {
      // Sent right after session.update: the server handles events in order, so the greeting
      // uses the new voice and format without waiting a round trip for session.updated.
      this.greetingRequested = true;
      this.sendToModel(
        { type: 'model.createResponse', instructions: GREETING_INSTRUCTIONS(this.profile.greeting) },
        out,
      );
    }
    this.watchModel(out);
  }

  private onModelClosed(willRetry: boolean, code: number, out: CallCommand[]): void {
    this.modelOpen = false;
    // A half-filled append goes first into the buffer that is replayed after a reconnect.
    if (this.appendBatchBytes > 0) this.sendCallerAudio(this.takeAppendBatch(), out);
    this.awaitingAck = false;
    out.push({ type: 'timer.cancel', name: 'modelStall' });
    if (this.activeResponse !== null) {
      // The response died with the socket: play what we have, drop anything late.
      const id = this.activeResponse.id;
      this.finishCurrentAudio(out);
      this.ledger.completeResponse(id);
      this.discarded.add(id);
      this.activeResponse = null;
    }
    if (willRetry) out.push({ type: 'log', level: 'warn', msg: 'model socket closed; reconnecting', fields: { code } });
  }

  private onModelFailed(message: string, out: CallCommand[]): void {
    this.modelOpen = false;
    if (this.phase.name === 'ending' && this.phase.started) return;
    out.push({
      type: 'log',
      level: 'error',
      msg: 'model unavailable; apologising and ending the call',
      fields: { reason: message },
    });
    this.playApology(out, message);
  }

  /** The caller hears an apology, then the call ends cleanly. */
  private playApology(out: CallCommand[], detail: string): void {
    if (this.ledger.busy) {
      out.push({ type: 'twilio.clear' });
      this.ledger.clear();
      this.modelToCaller.reset();
    }
    this.currentAudio = null;
    this.activeResponse = null;
    const key: AudioItemKey = { responseId: 'apology', itemId: 'apology', contentIndex: 0 };
    const audio = this.options.apologyMulaw;
    for (let offset = 0; offset < audio.length; offset += 160) {
      const frame = Buffer.alloc(160, 0xff);
      frame.set(audio.subarray(offset, Math.min(offset + 160, audio.length)));
      out.push({ type: 'twilio.media', payload: frame });
      this.ledger.sent(key, FRAME_MS);
    }
    this.ledger.complete(key);
    out.push({ type: 'twilio.mark', name: this.ledger.placeMark(key) });
    this.pendingEnd = {
      outcome: 'error',
      action: this.options.canUseRest ? 'hangUp' : 'close',
      responseId: null,
      detail,
    };
    this.phase = { name: 'ending', outcome: 'error', detail, action: this.pendingEnd.action, started: false };
    out.push({ type: 'model.close' });
    out.push({ type: 'timer.cancel', name: 'modelStall' });
    out.push({ type: 'timer.set', name: 'apologyDone', delayMs: this.ledger.pendingMs() + this.tuning.endGraceMs });
  }

  // ── model events ───────────────────────────────────────────────────────────

  private onModelEvent(e: ModelEvent, out: CallCommand[]): void {
    // Any event proves the model is alive.
    this.awaitingAck = false;
    switch (e.type) {
      case 'model.sessionCreated': {
        // An expiry already past (0, a skewed clock) says nothing usable: the provider's
        // session_expired and close still trigger the link's reconnect. A session shorter than
        // the lead is renewed half-way through — renewing "now" got the same expiry again and
        // reconnected every second.
        const remainingMs = e.expiresAtMs === null ? 0 : e.expiresAtMs - this.clock.now();
        if (remainingMs > 0) {
          this.expiresAtMs = e.expiresAtMs;
          const lead = this.tuning.sessionRenewLeadMs;
          out.push({
            type: 'timer.set',
            name: 'sessionRenew',
            delayMs: Math.max(1_000, remainingMs > 2 * lead ? remainingMs - lead : remainingMs / 2),
          });
        }
        break;
      }
      case 'model.error':
        this.onModelError(e.code, e.message, out);
        break;
      case 'model.speechStarted':
        this.onSpeechStarted(out);
        break;
      case 'model.speechStopped':
        this.firstAudioSince = { atMs: this.clock.now(), afterCallerTurn: true };
        break;
      case 'model.inputTranscriptDone': {
        const text = e.transcript.trim();
        if (text !== '') {
          this.remember({ role: 'user', text });
          out.push({ type: 'record.turn', role: 'caller', text, truncated: false, atMs: this.clock.now() });
        }
        break;
      }
      case 'model.responseCreated':
        this.activeResponse = {
          id: e.responseId,
          greeting: this.greetingRequested && this.greetingResponseId === null,
        };
        if (this.activeResponse.greeting) this.greetingResponseId = e.responseId;
        if (this.pendingEnd?.responseId === GOODBYE_NOT_CREATED && !this.goodbyeOwed)
          this.pendingEnd.responseId = e.responseId;
        break;
      case 'model.outputItemAdded':
        if (e.item.type === 'function_call' && e.item.name !== null) this.functionNames.set(e.item.id, e.item.name);
        break;
      case 'model.audioDelta':
        this.onAudioDelta(e.responseId, e.itemId, e.contentIndex, e.audio, out);
        break;
      case 'model.audioDone':
        if (
          this.currentAudio !== null &&
          this.currentAudio.itemId === e.itemId &&
          this.currentAudio.contentIndex === e.contentIndex
        ) {
          this.finishCurrentAudio(out);
        }
        break;
      case 'model.transcriptDelta':
        if (!this.discarded.has(e.responseId)) this.turn(e.itemId).text += e.delta;
        break;
      case 'model.transcriptDone': {
        const turn = this.turn(e.itemId);
        turn.transcript = e.transcript;
        // Stored once heard; an item without audio (or already played out) is heard now.
        if (turn.playedOut || turn.receivedMs === 0) this.settleAssistantTurn(e.itemId, null, out);
        break;
      }
      case 'model.functionCallDone':
        this.onFunctionCall(e.responseId, e.itemId, e.callId, e.name, e.arguments, out);
        break;
      case 'model.responseDone':
        this.onResponseDone(e.responseId, e.status, e.reason, out);
        break;
      case 'model.sessionUpdated':
      case 'model.inputCommitted':
      case 'model.inputCleared':
      case 'model.inputTranscriptFailed':
      case 'model.itemAdded':
      case 'model.itemDone':
      case 'model.itemTruncated':
      case 'model.itemDeleted':
      case 'model.outputItemDone':
      case 'model.textDone':
      case 'model.rateLimits':
      case 'model.other':
        break;
      default: {
        const never: never = e;
        void never;
      }
    }
  }

  private onModelError(code: string | null, message: string, out: CallCommand[]): void {
    switch (code) {
      case 'response_cancel_not_active':
        // Expected noise: the server's own VAD cancelled the response before our cancel arrived.
        out.push({ type: 'log', level: 'debug', msg: 'model: cancel found no active response' });
        return;
      case 'conversation_already_has_active_response':
        this.pendingResponseCreate = true;
        out.push({
          type: 'log',
          level: 'info',
          msg: 'model busy; response will be requested when the current one ends',
        });
        return;
      case 'session_expired':
        out.push({ type: 'log', level: 'info', msg: 'model session expired; the link reconnects' });
        return;
      default:
        out.push({ type: 'log', level: 'warn', msg: 'model error', fields: { code, message: message.slice(0, 300) } });
    }
  }

  // ── assistant audio ────────────────────────────────────────────────────────

  private onAudioDelta(
    responseId: string,
    itemId: string,
    contentIndex: number,
    audio: Buffer,
    out: CallCommand[],
  ): void {
    if (this.discarded.has(responseId)) return;
    if (
      this.phase.name !== 'live' &&
      !(this.phase.name === 'ending' && !this.phase.started && this.phase.outcome !== 'error')
    )
      return;
    const key: AudioItemKey = { responseId, itemId, contentIndex };
    if (
      this.currentAudio !== null &&
      (this.currentAudio.itemId !== itemId ||
        this.currentAudio.contentIndex !== contentIndex ||
        this.currentAudio.responseId !== responseId)
    ) {
      this.finishCurrentAudio(out);
    }
    this.currentAudio = key;
    this.ledger.item(key);
    this.turn(itemId).receivedMs += audio.length / this.modelBytesPerMs;
    this.emitFrames(key, this.modelToCaller.push(audio), out);
  }

  private emitFrames(key: AudioItemKey, frames: Buffer[], out: CallCommand[]): void {
    if (frames.length === 0) return;
    if (this.firstAudioSince !== null) {
      out.push({
        type: 'record.firstAudio',
        latencyMs: this.clock.now() - this.firstAudioSince.atMs,
        afterCallerTurn: this.firstAudioSince.afterCallerTurn,
      });
      this.firstAudioSince = null;
    }
    for (const payload of frames) {
      out.push({ type: 'twilio.media', payload });
      this.ledger.sent(key, FRAME_MS);
      if (++this.framesSinceMark >= this.markIntervalFrames) {
        out.push({ type: 'twilio.mark', name: this.ledger.placeMark(key) });
        this.framesSinceMark = 0;
      }
    }
  }

  /** The current item's audio is over: emit the transcoder's tail and the item-end mark. */
  private finishCurrentAudio(out: CallCommand[]): void {
    const key = this.currentAudio;
    if (key === null) return;
    this.currentAudio = null;
    this.emitFrames(key, this.modelToCaller.flush(), out);
    this.modelToCaller.reset();
    if (this.framesSinceMark > 0) {
      out.push({ type: 'twilio.mark', name: this.ledger.placeMark(key) });
      this.framesSinceMark = 0;
    }
    this.ledger.complete(key);
  }

  // ── barge-in ───────────────────────────────────────────────────────────────

  /**
   * The caller started talking. If assistant audio is still unplayed: clear Twilio's buffer,
   * cancel the response if it is still in progress, and tell the model how much of each item
   * the caller heard (truncate), or delete items the caller heard nothing of.
   */
  private onSpeechStarted(out: CallCommand[]): void {
    if (this.phase.name !== 'live') return;
    if (!this.profile.greetingInterruptible && this.greetingResponseId !== null && !this.greetingPlayed) {
      out.push({ type: 'log', level: 'info', msg: 'barge-in ignored: the greeting is not interruptible' });
      return;
    }
    const unplayed = this.ledger.unplayed();
    if (unplayed.length === 0) return; // nothing playing: nothing to stop
    out.push({ type: 'twilio.clear' });
    const active = this.activeResponse;
    if (active !== null && !this.discarded.has(active.id)) {
      out.push({ type: 'model.cancelResponse', responseId: active.id });
    }
    const handled = new Set<string>();
    let truncated = 0;
    for (const item of unplayed) {
      this.discarded.add(item.responseId);
      if (handled.has(item.itemId)) continue;
      handled.add(item.itemId);
      if (item.playedMs <= 0) {
        out.push({ type: 'model.deleteItem', itemId: item.itemId });
        this.settleAssistantTurn(item.itemId, 0, out);
      } else {
        const audioEndMs = Math.floor(Math.min(item.sentMs, item.playedMs + this.tuning.truncationCushionMs));
        out.push({ type: 'model.truncate', itemId: item.itemId, contentIndex: item.contentIndex, audioEndMs });
        this.settleAssistantTurn(item.itemId, audioEndMs, out);
        truncated++;
      }
    }
    if (active !== null) this.activeResponse = null;
    this.ledger.clear();
    this.modelToCaller.reset();
    this.currentAudio = null;
    this.framesSinceMark = 0;
    this.bargeIns++;
    out.push({ type: 'record.bargeIn', atMs: this.clock.now(), truncatedItems: truncated });
    this.awaitingAck = true;
  }

  // ── transcripts ────────────────────────────────────────────────────────────

  private turn(itemId: string): AssistantTurn {
    let t = this.assistantTurns.get(itemId);
    if (t === undefined) {
      t = { text: '', transcript: null, receivedMs: 0, playedOut: false, settled: false };
      this.assistantTurns.set(itemId, t);
      if (this.assistantTurns.size > MAX_TRACKED_ASSISTANT_ITEMS) {
        // oldest first (a Map keeps insertion order); unsettled items are still in play
        for (const [id, old] of this.assistantTurns) {
          if (this.assistantTurns.size <= MAX_TRACKED_ASSISTANT_ITEMS) break;
          if (old.settled) this.assistantTurns.delete(id);
        }
      }
    }
    return t;
  }

  /**
   * Adds a turn to the conversation restored after a reconnect; only the last
   * {@link MAX_HISTORY_TURNS} are ever restored, so only they are kept.
   */
  private remember(turn: { role: 'user' | 'assistant'; text: string }): void {
    this.history.push(turn);
    if (this.history.length > MAX_HISTORY_TURNS) this.history.shift();
  }

  /**
   * Records an assistant turn once: in full (`heardMs` null), or cut to what the caller heard.
   * The server deletes the transcript of truncated audio, so the stored text is cut in
   * proportion to the audio heard, at a word boundary.
   */
  private settleAssistantTurn(itemId: string, heardMs: number | null, out: CallCommand[]): void {
    const t = this.turn(itemId);
    if (t.settled) return;
    t.settled = true;
    let text = (t.transcript ?? t.text).trim();
    // Keep the entry as a tombstone (late transcript events must not store it twice), without its text.
    t.text = '';
    t.transcript = null;
    let truncated = false;
    if (heardMs !== null && heardMs < t.receivedMs) {
      truncated = true;
      const fraction = t.receivedMs > 0 ? heardMs / t.receivedMs : 0;
      const cut = Math.floor(text.length * fraction);
      const boundary = text.lastIndexOf(' ', cut);
      text = text.slice(0, boundary > 0 ? boundary : cut).trim();
      if (text !== '') text += ' …';
    }
    if (text === '') return;
    this.remember({ role: 'assistant', text });
    out.push({ type: 'record.turn', role: 'assistant', text, truncated, atMs: this.clock.now() });
  }

  /** At the end of the call: store what the caller heard of turns still playing. */
  private settleRemainingTurns(out: CallCommand[]): void {
    for (const [itemId, t] of [...this.assistantTurns]) {
      if (t.settled) continue;
      const played = this.ledger.playedMsOf(itemId);
      this.settleAssistantTurn(itemId, t.playedOut || played === null ? null : played, out);
    }
  }

  // ── responses and tools ────────────────────────────────────────────────────

  private onFunctionCall(
    responseId: string,
    itemId: string,
    callId: string,
    wireName: string | null,
    args: string,
    out: CallCommand[],
  ): void {
    const name = wireName ?? this.functionNames.get(itemId) ?? null;
    if (!isBuiltinTool(name, this.profile.tools)) {
      out.push({ type: 'log', level: 'warn', msg: 'model called an unknown tool', fields: { name } });
      this.sendToModel(
        {
          type: 'model.createItem',
          item: {
            kind: 'function_call_output',
            callId,
            output: JSON.stringify({ ok: false, error: `unknown tool ${String(name)}` }),
          },
        },
        out,
      );
      this.requestResponse(out);
      return;
    }
    const reason = toolReason(args);
    out.push({ type: 'log', level: 'info', msg: 'tool called', fields: { tool: name, reason } });
    if (name === 'hang_up') {
      this.pendingEnd = {
        outcome: 'hang_up_tool',
        action: this.options.canUseRest ? 'hangUp' : 'close',
        responseId,
        detail: reason,
      };
      this.sendToModel(
        {
          type: 'model.createItem',
          item: {
            kind: 'function_call_output',
            callId,
            output: JSON.stringify({ ok: true, note: 'the call ends after your last words have played' }),
          },
        },
        out,
      );
    } else {
      if (!this.options.canUseRest || this.profile.transferTo === null) {
        const error =
          this.profile.transferTo === null
            ? 'no transfer number is configured'
            : 'transfers need TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN';
        out.push({ type: 'log', level: 'warn', msg: 'transfer unavailable', fields: { error } });
        this.sendToModel(
          {
            type: 'model.createItem',
            item: {
              kind: 'function_call_output',
              callId,
              output: JSON.stringify({
                ok: false,
                error: `Transfer is not possible right now (${error}). Apologise and offer to help.`,
              }),
            },
          },
          out,
        );
        this.requestResponse(out);
        return;
      }
      this.pendingEnd = { outcome: 'transferred', action: 'transfer', responseId, detail: reason };
      this.pendingToolCallId = callId;
    }
    this.checkEnd(out);
  }

  private pendingToolCallId: string | null = null;

  private onResponseDone(responseId: string, status: string, reason: string | null, out: CallCommand[]): void {
    if (this.currentAudio !== null && this.currentAudio.responseId === responseId) this.finishCurrentAudio(out);
    this.ledger.completeResponse(responseId);
    if (this.activeResponse?.id === responseId) this.activeResponse = null;
    if (status !== 'completed' && status !== 'cancelled') {
      out.push({ type: 'log', level: 'warn', msg: 'model response ended early', fields: { status, reason } });
    }
    if (this.pendingResponseCreate && this.activeResponse === null && this.phase.name === 'live') {
      this.pendingResponseCreate = false;
      this.sendToModel({ type: 'model.createResponse' }, out);
    }
    if (this.pendingEnd !== null) {
      out.push({ type: 'timer.set', name: 'endFallback', delayMs: this.ledger.pendingMs() + this.tuning.endGraceMs });
    }
    if (this.goodbyeOwed && this.activeResponse === null) this.sayGoodbye(out);
    this.checkGreetingPlayed(out);
    this.checkEnd(out);
  }

  /** Asks for a response now, or as soon as the current one is done (one active response at a time). */
  private requestResponse(out: CallCommand[]): void {
    if (this.activeResponse !== null) {
      this.pendingResponseCreate = true;
      return;
    }
    this.sendToModel({ type: 'model.createResponse' }, out);
  }

  /** Once the uninterruptible greeting has played, barge-in works again (server side too). */
  private checkGreetingPlayed(out: CallCommand[]): void {
    if (this.greetingPlayed || this.greetingResponseId === null) return;
    if (this.activeResponse?.id === this.greetingResponseId) return;
    if (this.ledger.hasUnplayed(this.greetingResponseId)) return;
    this.greetingPlayed = true;
    if (!this.interruptResponse) {
      this.interruptResponse = true;
      this.sendToModel({ type: 'model.updateSession', session: this.sessionConfig() }, out);
    }
  }

  // ── ending ─────────────────────────────────────────────────────────────────

  /** Ends the call once the audio that goes with a hang-up, transfer or apology has played. */
  private checkEnd(out: CallCommand[]): void {
    const end = this.pendingEnd;
    if (end === null) return;
    if (end.responseId === GOODBYE_NOT_CREATED) return;
    if (end.responseId !== null && this.activeResponse?.id === end.responseId) return;
    if (this.ledger.busy) return;
    this.startEnd(out);
  }

  private startEnd(out: CallCommand[]): void {
    const end = this.pendingEnd;
    if (end === null) return;
    this.pendingEnd = null;
    out.push({ type: 'timer.cancel', name: 'endFallback' });
    out.push({ type: 'timer.cancel', name: 'apologyDone' });
    this.phase = { name: 'ending', outcome: end.outcome, detail: end.detail, action: end.action, started: true };
    switch (end.action) {
      case 'hangUp':
        out.push({ type: 'rest.hangUp' });
        break;
      case 'transfer':
        out.push({ type: 'rest.transfer', to: this.profile.transferTo! });
        break;
      case 'close':
        this.finish(end.outcome, end.detail, out, true);
        break;
    }
  }

  private onRestDone(action: 'hangUp' | 'transfer', ok: boolean, error: string | null, out: CallCommand[]): void {
    if (this.phase.name !== 'ending') return;
    const { outcome, detail } = this.phase;
    if (ok) {
      // Twilio now ends or redirects the call; the stream stops on its own, but don't wait for it.
      this.finish(outcome, detail, out, true);
      return;
    }
    out.push({ type: 'log', level: 'warn', msg: 'Twilio REST call failed', fields: { action, error } });
    if (action === 'hangUp') {
      this.finish(outcome, detail, out, true);
      return;
    }
    // A failed transfer: back to the conversation; the model tells the caller.
    this.phase = { name: 'live' };
    const callId = this.pendingToolCallId;
    this.pendingToolCallId = null;
    if (callId !== null) {
      this.sendToModel(
        {
          type: 'model.createItem',
          item: {
            kind: 'function_call_output',
            callId,
            output: JSON.stringify({
              ok: false,
              error: 'The transfer failed. Apologise and offer to help or take a message.',
            }),
          },
        },
        out,
      );
    }
    this.requestResponse(out);
  }

  private endingOutcome(fallback: CallOutcome): CallOutcome {
    return this.phase.name === 'ending' && this.phase.started ? this.phase.outcome : fallback;
  }

  private endingDetail(fallback: string): string | null {
    return this.phase.name === 'ending' && this.phase.started ? this.phase.detail : fallback;
  }

  /** Ends the call now: closes the model socket first (an open one costs money), then Twilio. */
  private finish(outcome: CallOutcome, detail: string | null, out: CallCommand[], closeTwilio: boolean): void {
    if (this.phase.name === 'ended') return;
    for (const name of ALL_TIMERS) out.push({ type: 'timer.cancel', name });
    out.push({ type: 'model.close' });
    this.modelOpen = false;
    this.settleRemainingTurns(out);
    out.push({ type: 'record.end', outcome, atMs: this.clock.now(), detail });
    if (closeTwilio && this.twilioOpen) {
      out.push({ type: 'twilio.close', code: 1000, reason: outcome });
      this.twilioOpen = false;
    }
    this.phase = { name: 'ended', outcome };
  }

  // ── operating limits (SPEC §8) ─────────────────────────────────────────────

  /**
   * The bridge ends the call on its own: outcome `error`, the reason as its detail.
   * `media_timeout` (the phone side went silent or stopped answering pings): at once.
   * `max_duration`: cleanly. When the profile has a `goodbye` and the model is live, the
   * assistant says it first, the way it says the greeting (after the answer in progress, if
   * any), and the call ends once it has played, as after the hang_up tool; at most
   * {@link GOODBYE_MAX_MS} is spent on it. Without a goodbye the call ends at once.
   */
  private onLimit(reason: CallLimitReason, out: CallCommand[]): void {
    out.push({ type: 'log', level: 'warn', msg: 'call limit reached; ending the call', fields: { reason } });
    const goodbye = this.profile.goodbye ?? null;
    if (reason === 'max_duration' && goodbye !== null && this.modelOpen && this.phase.name === 'live') {
      if (this.pendingEnd !== null) return; // already ending with its own last words
      this.pendingEnd = {
        outcome: 'error',
        action: this.options.canUseRest ? 'hangUp' : 'close',
        responseId: GOODBYE_NOT_CREATED,
        detail: reason,
      };
      this.pendingResponseCreate = false;
      if (this.activeResponse === null) {
        this.sayGoodbye(out);
      } else {
        this.goodbyeOwed = true;
        out.push({ type: 'timer.set', name: 'endFallback', delayMs: GOODBYE_MAX_MS });
      }
      return;
    }
    this.finish('error', reason, out, true);
  }

  private sayGoodbye(out: CallCommand[]): void {
    this.goodbyeOwed = false;
    const goodbye = this.profile.goodbye ?? null;
    if (goodbye === null) return;
    this.sendToModel({ type: 'model.createResponse', instructions: GOODBYE_INSTRUCTIONS(goodbye) }, out);
    out.push({ type: 'timer.set', name: 'endFallback', delayMs: GOODBYE_MAX_MS });
  }

  // ── timers and liveness ────────────────────────────────────────────────────

  private onTimer(name: TimerName, out: CallCommand[]): void {
    switch (name) {
      case 'dtmf':
        this.sendDtmf(out);
        break;
      case 'endFallback':
      case 'apologyDone':
        // The final mark never came back: end anyway, the audio has had time to play.
        if (this.pendingEnd !== null) this.startEnd(out);
        break;
      case 'sessionRenew':
        if (this.phase.name !== 'live') break;
        if (this.activeResponse === null && !this.ledger.busy) {
          out.push({ type: 'model.reconnect', reason: 'session renewal before the provider limit' });
        } else if (this.expiresAtMs !== null && this.expiresAtMs - this.clock.now() > 5_000) {
          out.push({ type: 'timer.set', name: 'sessionRenew', delayMs: 1_000 });
        }
        break;
      case 'modelStall':
        if (this.modelOpen && (this.awaitingAck || this.activeResponse !== null)) {
          out.push({
            type: 'log',
            level: 'warn',
            msg: 'model stalled; reconnecting',
            fields: { silentMs: this.tuning.modelStallTimeoutMs },
          });
          out.push({ type: 'model.reconnect', reason: 'model stalled' });
          this.onModelClosed(true, 0, out);
        } else if (this.modelOpen && this.phase.name === 'live') {
          // Silent with nothing owed: fine while the caller is silent, a stall if the caller is
          // talking (no speech_started will ever come). Ask for an answer — the unchanged
          // session (answered by session.updated) — so a stalled model is found a timeout later.
          this.sendToModel({ type: 'model.probe' }, out);
          out.push({ type: 'timer.set', name: 'modelStall', delayMs: this.tuning.modelStallTimeoutMs });
        }
        break;
    }
  }

  /** Model commands that the server answers; sending one starts the stall watch. */
  private sendToModel(cmd: ModelCommand, out: CallCommand[]): void {
    if (!this.modelOpen) return;
    out.push(cmd);
    this.awaitingAck = true;
  }

  /** (Re)arms or cancels the stall timer after a model event. */
  private watchModel(out: CallCommand[]): void {
    if (this.phase.name === 'ended') return;
    if (this.modelOpen && (this.awaitingAck || this.activeResponse !== null || this.phase.name === 'live')) {
      out.push({ type: 'timer.set', name: 'modelStall', delayMs: this.tuning.modelStallTimeoutMs });
    } else {
      out.push({ type: 'timer.cancel', name: 'modelStall' });
    }
  }
}
