/**
 * CallSession — the one brain (DESIGN "one brain", SPEC §6).
 *
 * `handle(event) → CallCommand[]`, synchronous, with time read only from the injected clock.
 * It decides: when the call starts and ends, barge-in, what each tool call means for the
 * call, recovery. Its helpers (the other modules of `call/`) keep the books and decide nothing.
 * Because barge-in's Twilio `clear`, `response.cancel` and `conversation.item.truncate` come
 * out of one `handle` call, they go out in one turn of the event loop by construction.
 *
 * Phases and transitions:
 *
 * ```
 *   awaitingStart ──twilio.start──► connecting ──model.open──► live
 *        │                              │                       │  model.closed(retry) → model down:
 *        │                              │                       │  caller audio held, restored on
 *        │                              │                       │  model.open(reconnect)
 *        │                              │                       │ tool plan end / transfer, or idle after end_after
 *        │                              │                       │ prompts (goodbye) ─► live(leaving):
 *        │                              │                       │   waits for the response's audio to play ─┐
 *        │                              │ model.failed          │ model.failed ─► ending(error, not started): │
 *        │                              └───────────────────────┘   the apology plays ───────────────────────┤
 *        │                             ending(started): REST hang-up / transfer, or the socket closes ◄──────┘
 *        │                               (endFallback / apologyDone start it if the last mark never returns)
 *        │                               rest.done(transfer failed) ─► live: the model tells the caller
 *        └──────────── twilio.stop / twilio.closed (any phase) ──────────────────────────────────────► ended
 *                                  ending(started) ── rest.done ─► ended
 *
 * Outbound calls (answering-machine.ts) open `live` without a greeting until the callee is
 * known: a short "hello?", silence, or AnsweredBy=human → greeting; a machine verdict →
 * live(leaving: voicemail_left after the message plays) or live(leaving: machine_detected) at once.
 * ```
 */
import type { Profile } from '../config/numbers.js';
import { modelAudioBytesPerMs, type ModelCommand, type ModelEvent, type SessionConfig } from '../protocol/realtime.js';
import type { Clock } from '../util/clock.js';
import { AssistantPlayout } from './assistant-playout.js';
import { AssistantTurns, messageItem, type SettledTurn } from './assistant-turns.js';
import { CallerInput } from './caller-input.js';
import { CallerKeypad } from './caller-keypad.js';
import { AnsweringMachine, SILENT_OPENING_MS, VOICEMAIL_MAX_MS, type MachineAction } from './answering-machine.js';
import {
  apologyEnd,
  idleEnd,
  limitEnd,
  machineEnd,
  TIMERS_CANCELLED_AT_END,
  toolEnd,
  type EndPlan,
} from './call-ending.js';
import { log } from './events.js';
import type { CallCommand, CallEvent, CallLimitReason, CallOutcome, TimerName } from './events.js';
import { Goodbye, GOODBYE_MAX_MS } from './goodbye.js';
import { Greeting } from './greeting.js';
import { IdleTimer } from './idle-timer.js';
import { ModelResponses } from './model-responses.js';
import { ModelWatch, modelErrorLog, sessionConfigFor } from './model-session.js';
import { operatorTransfer, OperatorSays } from './operator.js';
import { DEFAULT_TUNING, type SessionTuning } from './session-tuning.js';
import { providerCallDone, providerMcpEvent } from './provider-calls.js';
import { outputItem, ToolCalls } from './tool-calls.js';
import { builtinTools, planToolCall, toolCallLog, toolDeclarations } from './tools/registry.js';
import type { CallInfo, ToolTable } from './tools/tool.js';

export interface CallSessionOptions {
  clock: Clock;
  profile: Profile;
  /** μ-law 8 kHz audio played when the model cannot be reached */
  apologyMulaw: Uint8Array;
  /** Twilio REST credentials exist (hang-up and transfer through the API) */
  canUseRest: boolean;
  tuning?: Partial<SessionTuning>;
  /** the tools offered to the model; the profile's built-in tools by default */
  tools?: ToolTable;
  call?: CallInfo;
}

type Phase =
  | { name: 'awaitingStart' }
  | { name: 'connecting' }
  /** `leaving`: a tool ended or transferred the call; it leaves once the response's audio has played */
  | { name: 'live'; leaving: EndPlan | null }
  /** not `started`: the apology plays; `started`: the REST call or the close is under way */
  | { name: 'ending'; plan: EndPlan; started: boolean }
  | { name: 'ended'; outcome: CallOutcome };

const APOLOGY = { responseId: 'apology', itemId: 'apology', contentIndex: 0 };

export class CallSession {
  readonly tuning: SessionTuning;
  private phase: Phase = { name: 'awaitingStart' };
  private readonly clock: Clock;
  private readonly profile: Profile;
  private readonly tools: ToolTable;
  private readonly modelBytesPerMs: number;
  private readonly input: CallerInput;
  private readonly playout: AssistantPlayout;
  private readonly watch: ModelWatch;
  private readonly greeting: Greeting;
  private readonly goodbye: Goodbye;
  private readonly turns = new AssistantTurns();
  private readonly keypad = new CallerKeypad();
  private readonly toolCalls = new ToolCalls();
  /** outbound calls only: who answered, and what that means (`answering-machine.ts`) */
  private readonly machine: AnsweringMachine | null;
  private readonly idle: IdleTimer;
  private modelOpen = false;
  private twilioOpen = true;
  private readonly responses = new ModelResponses();
  /** words an operator asked the assistant to say, waiting for a pause (SPEC §12) */
  private readonly operatorSays = new OperatorSays();

  constructor(private readonly options: CallSessionOptions) {
    this.tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.profile = options.profile;
    this.clock = options.clock;
    const { tuning, profile } = this;
    this.tools = options.tools ?? builtinTools(profile.tools);
    this.modelBytesPerMs = modelAudioBytesPerMs(profile.modelAudio);
    this.input = new CallerInput({ modelAudio: profile.modelAudio, modelBytesPerMs: this.modelBytesPerMs, ...tuning });
    this.playout = new AssistantPlayout(profile.modelAudio, tuning.markIntervalMs, this.clock);
    this.watch = new ModelWatch(tuning.modelStallTimeoutMs, tuning.sessionRenewLeadMs);
    const outbound = options.call?.direction === 'outbound' ? (profile.outbound ?? null) : null;
    this.machine = outbound === null ? null : new AnsweringMachine(outbound);
    this.greeting = new Greeting(outbound?.greeting ?? profile.greeting, profile.greetingInterruptible);
    this.goodbye = new Goodbye(profile.goodbye ?? null);
    this.idle = new IdleTimer(profile.idle ?? null);
  }

  /** The current phase name (for logs, metrics and tests). */
  get phaseName(): Phase['name'] {
    return this.phase.name;
  }

  get outcome(): CallOutcome | null {
    return this.phase.name === 'ended' ? this.phase.outcome : null;
  }

  get bargeInCount(): number {
    return this.playout.interruptions;
  }

  /** The session configuration sent with every `session.update`. */
  sessionConfig(): SessionConfig {
    const createResponse = this.machine === null || this.machine.greeted;
    return sessionConfigFor(
      this.profile,
      this.greeting.interruptResponse,
      toolDeclarations(this.tools),
      createResponse,
    );
  }

  /** One event in, the commands it causes out. Never throws on well-typed input. */
  handle(event: CallEvent): CallCommand[] {
    const out: CallCommand[] = [];
    if (this.phase.name !== 'ended') this.dispatch(event, out);
    if (this.phase.name !== 'ended') {
      const idle = this.idle.update(this.lineQuiet());
      if (idle !== null) out.push(idle);
    }
    return out;
  }

  private dispatch(event: CallEvent, out: CallCommand[]): void {
    switch (event.type) {
      case 'twilio.connected':
        return;
      case 'twilio.start':
        return this.onStart(out);
      case 'twilio.media':
        if (this.phase.name === 'connecting' || this.phase.name === 'live')
          this.input.frame(event.timestampMs, event.payload, out);
        return;
      case 'twilio.mark':
        return this.onMark(event.name, out);
      case 'twilio.dtmf':
        if (this.phase.name !== 'live') return;
        this.idle.callerActive();
        this.sendKeys(this.keypad.press(event.digit), out);
        out.push({ type: 'timer.set', name: 'dtmf', delayMs: this.tuning.dtmfDebounceMs });
        return;
      case 'twilio.stop':
        return this.finish('caller_hung_up', 'stream stopped', out, false);
      case 'twilio.closed':
        this.twilioOpen = false;
        return this.finish('caller_hung_up', `media socket closed (${event.code})`, out, false);
      case 'model.open':
        return this.onModelOpen(event.reconnect, out);
      case 'model.closed':
        return this.onModelClosed(event.willRetry, event.code, out);
      case 'model.failed':
        this.modelGone();
        if (this.phase.name === 'ending' && this.phase.started) return;
        log(out, 'error', 'model unavailable; apologising and ending the call', { reason: event.message });
        return this.playApology(event.message, out);
      case 'timer.fired':
        return this.onTimer(event.name, out);
      case 'rest.done':
        return this.onRestDone(event.action, event.ok, event.error, out);
      case 'tool.done':
        return this.onToolDone(event.callId, event.output, out);
      case 'call.terminate':
        return this.finish('completed', event.reason, out, true);
      case 'call.limit':
        return this.onLimit(event.reason, out);
      case 'call.answeredBy':
        log(out, 'info', 'answered by', { answeredBy: event.answeredBy.slice(0, 32) });
        return this.onMachineAction(this.machine?.verdict(event.answeredBy) ?? { kind: 'none' }, out);
      case 'operator.hangUp':
        log(out, 'info', 'operator hung up');
        return this.finish('completed', 'operator hung up', out, true);
      case 'operator.transfer':
        return this.onOperatorTransfer(event.to, out);
      case 'operator.say':
        return this.onOperatorSay(event.text, out);
      default:
        this.onModelEvent(event, out);
        if (this.phase.name === 'ended') return;
        out.push(this.watch.rearm(this.modelOpen, this.responses.active !== null || this.phase.name === 'live'));
    }
  }

  private onStart(out: CallCommand[]): void {
    if (this.phase.name !== 'awaitingStart') return log(out, 'warn', 'duplicate start ignored');
    this.phase = { name: 'connecting' };
    if (this.profile.greeting !== null || this.machine !== null) this.playout.awaitFirstAudio(false);
    if (this.machine !== null && !this.machine.greeted)
      out.push({ type: 'timer.set', name: 'opening', delayMs: SILENT_OPENING_MS });
    out.push({ type: 'model.connect' });
  }

  private onMark(name: string, out: CallCommand[]): void {
    const result = this.playout.ledger.markEchoed(name);
    if (result.kind === 'unknown') return log(out, 'debug', 'unknown mark echoed', { name: name.slice(0, 64) });
    if (result.kind === 'stale') return;
    for (const item of this.playout.ledger.prune())
      if (!item.local) this.record(this.turns.playedOut(item.itemId), out);
    this.checkGreetingPlayed(out);
    this.checkEnd(out);
  }

  /** Keypad digits reach the model as one text item, then a response is requested. */
  private sendKeys(text: string | null, out: CallCommand[]): void {
    if (text === null || this.phase.name !== 'live') return;
    this.turns.remember({ role: 'user', text });
    this.sendToModel(messageItem('user', text), out);
    this.requestResponse(out);
  }

  // ── the model connection ───────────────────────────────────────────────────

  private onModelOpen(reconnect: boolean, out: CallCommand[]): void {
    if (this.phase.name === 'ending' && this.phase.plan.outcome === 'error') return;
    this.modelOpen = true;
    this.sendToModel({ type: 'model.updateSession', session: this.sessionConfig() }, out);
    if (reconnect) {
      // Restore the conversation so far as text, so the model knows what was said.
      const restored = this.turns.restore();
      for (const { role, text } of restored) out.push(messageItem(role, text));
      log(out, 'info', 'model session restored', { turns: restored.length });
      this.toolCalls.sessionLost();
    }
    this.input.connected(out);
    if (this.phase.name === 'connecting') this.phase = { name: 'live', leaving: null };
    // Sent right after session.update: the server handles events in order, so the greeting
    // uses the new voice and format without waiting a round trip for session.updated.
    if (this.phase.name === 'live' && !reconnect && (this.machine?.greeted ?? true)) this.greet(out);
    const held = this.machine?.takeHeld() ?? null;
    if (held !== null) this.onMachineAction(held, out);
    out.push(this.watch.rearm(this.modelOpen, this.responses.active !== null || this.phase.name === 'live'));
  }

  private onModelClosed(willRetry: boolean, code: number, out: CallCommand[]): void {
    this.modelGone();
    out.push({ type: 'timer.cancel', name: 'modelStall' });
    const id = this.responses.active;
    if (id !== null) {
      // The response died with the socket: play what we have, drop anything late (its jobs still answer).
      this.playout.responseDone(id, out);
      this.responses.discard(id);
      this.toolCalls.responseDone(id);
    }
    if (willRetry) log(out, 'warn', 'model socket closed; reconnecting', { code });
  }

  /** The caller hears an apology, then the call ends cleanly. */
  private playApology(detail: string, out: CallCommand[]): void {
    this.playout.clear(out);
    this.responses.active = null;
    this.playout.playLocal(APOLOGY, this.options.apologyMulaw, out);
    this.phase = { name: 'ending', plan: apologyEnd(detail, this.options.canUseRest), started: false };
    out.push({ type: 'model.close' }, { type: 'timer.cancel', name: 'modelStall' });
    out.push({ type: 'timer.set', name: 'apologyDone', delayMs: this.endGraceMs() });
  }

  private onModelEvent(e: ModelEvent, out: CallCommand[]): void {
    this.watch.owed = false; // any event proves the model is alive
    switch (e.type) {
      case 'model.sessionCreated':
        return this.watch.expiresAt(e.expiresAtMs, this.clock.now(), out);
      case 'model.error':
        if (e.code === 'conversation_already_has_active_response') this.responses.later();
        out.push(modelErrorLog(e.code, e.message));
        return;
      case 'model.speechStarted':
        this.idle.callerSpeaking(true);
        this.machine?.speechStarted(this.clock.now());
        return this.onSpeechStarted(out);
      case 'model.speechStopped':
        this.idle.callerSpeaking(false);
        this.playout.awaitFirstAudio(true);
        return this.onMachineAction(this.machine?.speechStopped(this.clock.now()) ?? { kind: 'none' }, out);
      case 'model.inputTranscriptDone':
        return this.record(this.turns.callerSaid(e.transcript), out, 'caller');
      case 'model.responseCreated':
        this.responses.active = e.responseId;
        if (this.machine?.voicemailStarted() === true) this.voicemailStarted(e.responseId, out);
        this.goodbye.responseCreated(e.responseId);
        return this.greeting.responseCreated(e.responseId);
      case 'model.outputItemAdded':
        if (e.item.type === 'function_call' && e.item.name !== null) this.toolCalls.named(e.item.id, e.item.name);
        if (e.item.type === 'mcp_call') this.toolCalls.providerCallStarted(e.item.id, this.clock.now());
        return;
      case 'model.outputItemDone':
        if (e.item.type !== 'mcp_call') return;
        // a provider-run MCP call that ran has the model speak its result once the response is done
        providerCallDone(this.toolCalls, e.responseId, e.item, this.clock.now(), out);
        if (this.responses.active !== e.responseId && this.toolCalls.responseDone(e.responseId))
          this.requestResponse(out);
        return;
      case 'model.mcp':
        return providerMcpEvent(this.toolCalls, e, this.clock.now(), out);
      case 'model.audioDelta':
        if (this.responses.isDiscarded(e.responseId) || this.phase.name !== 'live') return;
        this.turns.audioReceived(e.itemId, e.audio.length / this.modelBytesPerMs);
        return this.playout.delta(e, out);
      case 'model.audioDone':
        return this.playout.itemDone(e.itemId, e.contentIndex, out);
      case 'model.transcriptDelta':
        if (!this.responses.isDiscarded(e.responseId)) this.turns.textDelta(e.itemId, e.delta);
        return;
      case 'model.transcriptDone':
        return this.record(this.turns.transcriptDone(e.itemId, e.transcript), out);
      case 'model.functionCallDone':
        return this.onFunctionCall(e, out);
      case 'model.responseDone':
        return this.onResponseDone(e.responseId, e.status, e.reason, out);
      default:
        // acknowledgements and events the call does not act on (session.updated, item events, rate limits, …)
        return;
    }
  }

  private record(turn: SettledTurn | null, out: CallCommand[], role: 'assistant' | 'caller' = 'assistant'): void {
    if (turn !== null) out.push({ type: 'record.turn', role, ...turn, atMs: this.clock.now() });
  }

  /**
   * The caller started talking. If assistant audio is still unplayed: clear Twilio's buffer,
   * cancel the response if it is still in progress, and tell the model how much of each item
   * the caller heard (truncate), or delete items the caller heard nothing of.
   */
  private onSpeechStarted(out: CallCommand[]): void {
    if (this.phase.name !== 'live') return;
    if (this.greeting.holdsBargeIn) return log(out, 'info', 'barge-in ignored: the greeting is not interruptible');
    const unplayed = this.playout.ledger.unplayed();
    if (unplayed.length === 0) return; // nothing playing: nothing to stop
    // `clear` would drop the tones too: a phone menu talking over them must still get its digits.
    if (unplayed.some((item) => item.local)) return log(out, 'info', 'barge-in ignored: DTMF tones are playing');
    out.push({ type: 'twilio.clear' });
    const active = this.responses.cancellable;
    if (active !== null) out.push({ type: 'model.cancelResponse', responseId: active });
    const { cuts, responseIds } = this.playout.interrupt(this.tuning.truncationCushionMs, out);
    for (const id of responseIds) this.responses.discard(id);
    for (const { itemId, audioEndMs } of cuts) this.record(this.turns.settle(itemId, audioEndMs ?? 0), out);
    this.responses.active = null;
    const truncatedItems = cuts.filter((c) => c.audioEndMs !== null).length;
    out.push({ type: 'record.bargeIn', atMs: this.clock.now(), truncatedItems });
    this.watch.owed = true;
  }

  // ── responses and tools ────────────────────────────────────────────────────

  /** Carries out what the tool's plan says (see `tools/tool.ts`); a name the table lacks gets an error output. */
  private onFunctionCall(e: Extract<ModelEvent, { type: 'model.functionCallDone' }>, out: CallCommand[]): void {
    const { responseId, callId } = e;
    const name = e.name ?? this.toolCalls.nameOf(e.itemId);
    const plan = planToolCall(this.tools, name, e.arguments, { ...this.options, toolCallId: callId });
    out.push(toolCallLog(this.tools, name, plan));
    switch (plan.kind) {
      case 'output':
        this.sendToModel(this.toolCalls.answer(responseId, callId, plan.output, plan.respond), out);
        if (plan.play)
          this.playout.playLocal({ responseId, itemId: `tool:${callId}`, contentIndex: 0 }, plan.play, out);
        break;
      case 'job':
        out.push(...this.toolCalls.start(responseId, callId, String(name), plan, this.clock.now()));
        break;
      case 'end':
      case 'transfer':
        if (plan.kind === 'end') this.sendToModel(outputItem(callId, plan.output), out);
        this.leave(toolEnd(plan, responseId, callId, this.options.canUseRest), out);
        break;
    }
    // A call of a response that has already ended (a replayed or reordered event) is settled now.
    if (this.responses.active !== responseId && this.toolCalls.responseDone(responseId)) this.requestResponse(out);
  }

  private onToolDone(callId: string, output: string, out: CallCommand[]): void {
    const done = this.toolCalls.jobDone(callId, output);
    if (done === null) return log(out, 'debug', 'tool output for no running call', { callId });
    this.sendToModel(done.send, out);
    if (done.respond) this.requestResponse(out);
  }

  private onResponseDone(responseId: string, status: string, reason: string | null, out: CallCommand[]): void {
    this.playout.responseDone(responseId, out);
    this.responses.ended(responseId);
    if (status !== 'completed' && status !== 'cancelled')
      log(out, 'warn', 'model response ended early', { status, reason });
    if (this.toolCalls.responseDone(responseId)) this.responses.later();
    if (this.phase.name === 'live' && this.operatorSays.waiting && this.responses.active === null) this.sayNext(out);
    else if (this.phase.name === 'live' && this.responses.takeWaiting())
      this.sendToModel({ type: 'model.createResponse' }, out);
    if (this.waitingPlan() !== null) out.push({ type: 'timer.set', name: 'endFallback', delayMs: this.endGraceMs() });
    this.sayGoodbye(out);
    this.checkGreetingPlayed(out);
    this.checkEnd(out);
  }

  /** Asks for a response now, or as soon as the current one is done (one active response at a time). */
  private requestResponse(out: CallCommand[]): void {
    if (this.responses.request()) this.sendToModel({ type: 'model.createResponse' }, out);
  }

  /** Once the uninterruptible greeting has played, barge-in works again (server side too). */
  private checkGreetingPlayed(out: CallCommand[]): void {
    if (this.greeting.checkPlayed(this.responses.active, (id) => this.playout.ledger.hasUnplayed(id)))
      this.sendToModel({ type: 'model.updateSession', session: this.sessionConfig() }, out);
  }

  /** The greeting: the profile's (or the outbound one), else a plain first response on an outbound call. */
  private greet(out: CallCommand[]): void {
    const instructions = this.greeting.instructions();
    if (instructions !== null) this.sendToModel({ type: 'model.createResponse', instructions }, out);
    else if (this.machine !== null) this.requestResponse(out);
  }

  // ── outbound: who answered (answering-machine.ts) ──────────────────────────

  private onMachineAction(action: MachineAction, out: CallCommand[]): void {
    // a greeting decided before the model is open is said when it opens (the machine says `greeted`)
    const machine = this.machine;
    if (this.phase.name === 'connecting') machine?.hold(action);
    if (machine === null || action.kind === 'none' || this.phase.name !== 'live' || this.phase.leaving !== null) return;
    out.push({ type: 'timer.cancel', name: 'opening' });
    switch (action.kind) {
      case 'greet':
        // the model may now answer the callee's turns on its own
        this.sendToModel({ type: 'model.updateSession', session: this.sessionConfig() }, out);
        return this.greet(out);
      case 'hangup':
        log(out, 'info', 'a machine answered; ending the call', { answeredBy: action.answeredBy });
        this.phase = { name: 'live', leaving: machineEnd(null, action.answeredBy, this.options.canUseRest) };
        return this.checkEnd(out);
      case 'voicemail':
        return this.leaveVoicemail(machine.voicemailInstructions(action.message), out);
    }
  }

  /** A machine answered: whatever plays is cut, the model stops answering, and says the message once. */
  private leaveVoicemail(instructions: string, out: CallCommand[]): void {
    const active = this.responses.cancellable;
    if (active !== null) {
      out.push({ type: 'model.cancelResponse', responseId: active });
      this.responses.discard(active);
    }
    for (const id of this.playout.ledger.unplayed().map((item) => item.responseId)) this.responses.discard(id);
    this.playout.clear(out);
    this.responses.active = null;
    this.sendToModel({ type: 'model.updateSession', session: this.sessionConfig() }, out);
    this.sendToModel({ type: 'model.createResponse', instructions }, out);
    out.push({ type: 'timer.set', name: 'endFallback', delayMs: VOICEMAIL_MAX_MS });
  }

  /** The voicemail message's response started: the call ends once it has played. */
  private voicemailStarted(responseId: string, out: CallCommand[]): void {
    if (this.phase.name !== 'live') return;
    this.phase = { name: 'live', leaving: machineEnd(responseId, 'voicemail message said', this.options.canUseRest) };
    this.checkEnd(out);
  }

  // ── the operator (SPEC §12) ──────────────────────────────────────────────────

  /** A transfer asked for from the console: leaves once what is queued has played, like the tool's. */
  private onOperatorTransfer(to: string, out: CallCommand[]): void {
    const plan = operatorTransfer(to, this.options.canUseRest);
    if (plan === null) return log(out, 'warn', 'operator transfer refused: no Twilio REST credentials');
    log(out, 'info', 'operator transfer');
    this.leave(plan, out);
  }

  /** Words the operator wants said: at once when the model is quiet, else after the response in progress. */
  private onOperatorSay(text: string, out: CallCommand[]): void {
    if (this.phase.name !== 'live' || this.phase.leaving !== null) return log(out, 'info', 'operator say ignored');
    this.operatorSays.add(text);
    if (this.responses.active === null && this.modelOpen) this.sayNext(out);
  }

  private sayNext(out: CallCommand[]): void {
    const instructions = this.operatorSays.next();
    if (instructions !== null) this.sendToModel({ type: 'model.createResponse', instructions }, out);
  }

  // ── ending ─────────────────────────────────────────────────────────────────

  /** A tool ends the call: it leaves once the audio that goes with it has played. */
  private leave(plan: EndPlan, out: CallCommand[]): void {
    if (this.phase.name !== 'live') return;
    this.phase = { name: 'live', leaving: plan };
    this.checkEnd(out);
  }

  /** The end that waits for its audio: a tool's (live, leaving) or the apology's. */
  private waitingPlan(): EndPlan | null {
    if (this.phase.name === 'live') return this.phase.leaving;
    return this.phase.name === 'ending' && !this.phase.started ? this.phase.plan : null;
  }

  /** Ends the call once the audio that goes with a hang-up, transfer or apology has played. */
  private checkEnd(out: CallCommand[]): void {
    const plan = this.waitingPlan();
    const waitsFor = plan?.responseId ?? this.goodbye.responseId;
    if (plan === null || this.goodbye.pending || (waitsFor !== null && this.responses.active === waitsFor)) return;
    if (!this.playout.ledger.busy) this.startEnd(plan, out);
  }

  private startEnd(plan: EndPlan | null, out: CallCommand[]): void {
    if (plan === null) return;
    out.push({ type: 'timer.cancel', name: 'endFallback' }, { type: 'timer.cancel', name: 'apologyDone' });
    this.phase = { name: 'ending', plan, started: true };
    if (plan.rest !== null) out.push(plan.rest);
    else this.finish(plan.outcome, plan.detail, out, true);
  }

  /** An operating limit (SPEC §8) ends the call, outcome error: at once, or after the goodbye (goodbye.ts). */
  private onLimit(reason: CallLimitReason, out: CallCommand[]): void {
    log(out, 'warn', 'call limit reached; ending the call', { reason });
    if (this.phase.name === 'live' && this.phase.leaving !== null) return; // leaving with its own last words
    const says = reason === 'max_duration' && this.modelOpen && this.phase.name === 'live' && this.goodbye.begin();
    if (!says) return this.finish('error', reason, out, true);
    this.phase = { name: 'live', leaving: limitEnd(reason, this.options.canUseRest) };
    out.push({ type: 'timer.set', name: 'endFallback', delayMs: GOODBYE_MAX_MS });
    this.sayGoodbye(out);
  }

  private sayGoodbye(out: CallCommand[]): void {
    const instructions = this.goodbye.instructions(this.responses.active);
    if (instructions === null) return;
    this.sendToModel({ type: 'model.createResponse', instructions }, out);
    out.push({ type: 'timer.set', name: 'endFallback', delayMs: GOODBYE_MAX_MS });
  }

  private onRestDone(action: 'hangUp' | 'transfer', ok: boolean, error: string | null, out: CallCommand[]): void {
    if (this.phase.name !== 'ending') return;
    const { outcome, detail, transfer } = this.phase.plan;
    if (!ok) log(out, 'warn', 'Twilio REST call failed', { action, error });
    // Done: Twilio now ends or redirects the call; the stream stops on its own, but don't wait for it.
    if (ok || action === 'hangUp') return this.finish(outcome, detail, out, true);
    // A failed transfer: back to the conversation; the model tells the caller.
    this.phase = { name: 'live', leaving: null };
    if (transfer !== null) this.sendToModel(outputItem(transfer.callId, transfer.failedOutput), out);
    this.requestResponse(out);
  }

  /** How long an end waits for its final mark: the audio still to play, and a grace. */
  private endGraceMs(): number {
    return this.playout.ledger.pendingMs() + this.tuning.endGraceMs;
  }

  /**
   * Ends the call now: closes the model socket first (an open one costs money), then Twilio.
   * An end already under way keeps its own outcome (the caller hung up after the REST call went out).
   */
  private finish(outcome: CallOutcome, detail: string | null, out: CallCommand[], closeTwilio: boolean): void {
    if (this.phase.name === 'ended') return;
    if (this.phase.name === 'ending' && this.phase.started) ({ outcome, detail } = this.phase.plan);
    for (const name of TIMERS_CANCELLED_AT_END) out.push({ type: 'timer.cancel', name });
    // The link writes every append already handed to it before it closes the socket.
    out.push({ type: 'model.close' });
    this.modelGone();
    for (const turn of this.turns.settleAll((itemId) => this.playout.ledger.playedMsOf(itemId))) this.record(turn, out);
    out.push({ type: 'record.end', outcome, atMs: this.clock.now(), detail });
    if (closeTwilio && this.twilioOpen) {
      out.push({ type: 'twilio.close', code: 1000, reason: outcome });
      this.twilioOpen = false;
    }
    this.phase = { name: 'ended', outcome };
  }

  private onTimer(name: TimerName, out: CallCommand[]): void {
    switch (name) {
      case 'dtmf':
        return this.sendKeys(this.keypad.take(), out);
      case 'endFallback':
      case 'apologyDone':
        // The final mark never came back: end anyway, the audio has had time to play.
        return this.startEnd(this.waitingPlan(), out);
      case 'sessionRenew':
        if (this.phase.name !== 'live') return;
        return this.watch.renew(this.responses.active === null && !this.playout.ledger.busy, this.clock.now(), out);
      case 'modelStall':
        if (!this.watch.stallFired(this.modelOpen, this.responses.active !== null, this.phase.name === 'live', out))
          return;
        log(out, 'warn', 'model stalled; reconnecting', { silentMs: this.tuning.modelStallTimeoutMs });
        out.push({ type: 'model.reconnect', reason: 'model stalled' });
        return this.onModelClosed(true, 0, out);
      case 'toolWait':
        return this.toolCalls.waitDue(this.clock.now(), this.responses.active, this.playout.ledger, out);
      case 'opening':
        return this.onMachineAction(this.machine?.openingTimeout() ?? { kind: 'none' }, out);
      case 'idle':
        return this.onIdle(out);
    }
  }

  /**
   * Nobody talks and nothing is owed (idle-timer.ts): the call is live and staying, the caller is
   * not speaking, no response is in progress, every assistant frame has been heard, no tool runs.
   */
  private lineQuiet(): boolean {
    return (
      this.phase.name === 'live' &&
      this.phase.leaving === null &&
      this.modelOpen &&
      !this.idle.speakingNow &&
      this.responses.active === null &&
      !this.playout.ledger.busy &&
      !this.toolCalls.busy
    );
  }

  /** The line was quiet for `idle.after_ms`: the next prompt, or the goodbye and the end (SPEC §11). */
  private onIdle(out: CallCommand[]): void {
    if (!this.lineQuiet()) return;
    const action = this.idle.fired();
    if (action === null) return;
    if (action.kind === 'prompt') {
      log(out, 'info', 'caller silent; prompting', { prompt: this.idle.promptsUnanswered });
      return this.sendToModel({ type: 'model.createResponse', instructions: action.instructions }, out);
    }
    log(out, 'info', 'caller silent after every prompt; saying goodbye and ending the call');
    this.phase = { name: 'live', leaving: idleEnd(this.options.canUseRest) };
    this.goodbye.begin(action.goodbye);
    out.push({ type: 'timer.set', name: 'endFallback', delayMs: GOODBYE_MAX_MS });
    this.sayGoodbye(out);
  }

  /** The model socket is gone (closed, failed, or closed by us): caller audio is held, nothing is owed. */
  private modelGone(): void {
    this.modelOpen = false;
    this.input.disconnected();
    this.watch.owed = false;
  }

  /** Model commands that the server answers; sending one starts the stall watch. */
  private sendToModel(cmd: ModelCommand, out: CallCommand[]): void {
    if (!this.modelOpen) return;
    out.push(cmd);
    this.watch.owed = true;
  }
}
