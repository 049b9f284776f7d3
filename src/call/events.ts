/**
 * The call's inputs and outputs (STYLE §2.5). Events are named `source.thing`, commands
 * `target.verb`. `CallSession.handle(event)` turns one event into a list of commands; the
 * runner executes them in order, so everything one event causes happens in one turn of the
 * event loop.
 */
import type { ModelCommand, ModelEvent, ModelLinkEvent } from '../protocol/realtime.js';
import type { TwilioEvent } from '../protocol/twilio.js';

/** Timers the session asks for; a timer with the same name replaces the previous one. */
export type TimerName =
  /** DTMF digits are collected briefly, then sent as one text item */
  | 'dtmf'
  /** playback should have ended by now: end the call even if the last mark never returns */
  | 'endFallback'
  /** renew the model session before the provider's maximum duration */
  | 'sessionRenew'
  /** the model owes us an answer and has been silent too long */
  | 'modelStall'
  /** the apology has had time to play */
  | 'apologyDone'
  /** a tool job with a wait message has run `wait_after_ms` (SPEC §9 "no dead air") */
  | 'toolWait'
  /** an outbound callee has said nothing since the answer: greet anyway (`answering-machine.ts`) */
  | 'opening'
  /** the line has been quiet for the profile's `idle.after_ms` (SPEC §11) */
  | 'idle';

/** The socket to Twilio closed (with or without a `stop` first). */
export interface TwilioClosedEvent {
  type: 'twilio.closed';
  code: number;
}

/** A timer set by `timer.set` fired. */
export interface TimerFiredEvent {
  type: 'timer.fired';
  name: TimerName;
}

/** A Twilio REST call (hang-up, transfer) finished. */
export interface RestDoneEvent {
  type: 'rest.done';
  action: 'hangUp' | 'transfer';
  ok: boolean;
  /** what went wrong, for the model and the log (no secrets) */
  error: string | null;
}

/** A tool job (a `job` plan) finished; its output goes to the model as the call's `function_call_output`. */
export interface ToolDoneEvent {
  type: 'tool.done';
  callId: string;
  /** what the model is told (compact JSON or text; no secrets, no stack) */
  output: string;
}

/** The bridge ends the call itself (shutdown after the drain timeout). */
export interface TerminateEvent {
  type: 'call.terminate';
  reason: string;
}

/** Why the bridge ends a call on its own (SPEC §8 operating limits). */
export type CallLimitReason =
  /** the Twilio stream sent nothing for MEDIA_TIMEOUT_S, or did not answer a ping */
  | 'media_timeout'
  /** the call lasted MAX_CALL_DURATION_S */
  | 'max_duration';

/** An operating limit was reached; the call ends with outcome `error` and this reason. */
export interface CallLimitEvent {
  type: 'call.limit';
  reason: CallLimitReason;
}

/** Twilio's answering-machine verdict for an outbound call (`AnsweredBy`, SPEC §13). */
export interface AnsweredByEvent {
  type: 'call.answeredBy';
  /** `human`, `machine_end_beep`, `machine_end_silence`, `machine_end_other`, `fax`, `unknown`, … */
  answeredBy: string;
}

/**
 * An operator's request (SPEC §12; `operator.ts`), delivered to the call's session like any
 * other event: the console and the API only ask, the session decides.
 */
export type OperatorEvent =
  /** end the call now (outcome `completed`, detail `operator hung up`) */
  | { type: 'operator.hangUp' }
  /** redirect the call to `to` (E.164) through Twilio's REST API, once the audio in flight has played */
  | { type: 'operator.transfer'; to: string }
  /** the assistant says `text` at the next pause (when no response is in progress) */
  | { type: 'operator.say'; text: string };

export type CallEvent =
  | AnsweredByEvent
  | TwilioEvent
  | TwilioClosedEvent
  | ModelEvent
  | ModelLinkEvent
  | TimerFiredEvent
  | RestDoneEvent
  | ToolDoneEvent
  | TerminateEvent
  | CallLimitEvent
  | OperatorEvent;

/** How a call ended (SPEC §3, §13). */
export type CallOutcome =
  | 'completed'
  | 'caller_hung_up'
  | 'hang_up_tool'
  | 'transferred'
  /** the caller stayed silent through the profile's idle prompts (SPEC §11) */
  | 'idle_hang_up'
  | 'error'
  /** outbound: a machine answered and the voicemail message was said after its beep */
  | 'voicemail_left'
  /** outbound: a machine (or fax) answered and the call was ended at once */
  | 'machine_detected'
  /** outbound: Twilio's call status, the callee never picked up */
  | 'no_answer'
  | 'busy'
  | 'failed'
  | 'canceled';

export type TwilioCommand =
  /** one 20 ms μ-law 8 kHz frame */
  | { type: 'twilio.media'; payload: Buffer }
  | { type: 'twilio.mark'; name: string }
  | { type: 'twilio.clear' }
  /** close the media socket (ends the `<Connect>`; Twilio continues with the next TwiML) */
  | { type: 'twilio.close'; code: number; reason: string };

export type ModelConnectionCommand =
  | { type: 'model.connect' }
  /** close and reopen (session renewal, stalled model) */
  | { type: 'model.reconnect'; reason: string }
  | { type: 'model.close' };

export type TimerCommand =
  { type: 'timer.set'; name: TimerName; delayMs: number } | { type: 'timer.cancel'; name: TimerName };

export type RestCommand =
  /** end the call through Twilio's REST API (`status=completed`) */
  | { type: 'rest.hangUp' }
  /** redirect the live call to `<Dial>to</Dial>` */
  | { type: 'rest.transfer'; to: string };

/**
 * Runs a tool job outside the session; the runner reports its output as `tool.done` (a job
 * that throws is answered with a short error). Several may run at once.
 */
export type ToolCommand = { type: 'tool.run'; callId: string; name: string; run: () => Promise<string> };

/** Facts for the call record and metrics; the store and metrics observe, never decide. */
export type RecordCommand =
  | { type: 'record.turn'; role: 'caller' | 'assistant'; text: string; truncated: boolean; atMs: number }
  | { type: 'record.bargeIn'; atMs: number; truncatedItems: number }
  /** time from the caller's end of turn (or the call's start, for a greeting) to the first assistant frame */
  | { type: 'record.firstAudio'; latencyMs: number; afterCallerTurn: boolean }
  | { type: 'record.end'; outcome: CallOutcome; atMs: number; detail: string | null }
  /**
   * A tool the provider called itself (a `via: model` MCP server): the bridge's own tool
   * calls are recorded by `tools/tool-records.ts`. `atMs`: when the call started.
   */
  | {
      type: 'record.tool';
      name: string;
      arguments: Record<string, unknown> | null;
      ok: boolean;
      ms: number;
      atMs: number;
      via: 'model';
    };

export type LogCommand = {
  type: 'log';
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields?: Record<string, unknown>;
};

/** Adds a log line to `out`. */
export function log(
  out: CallCommand[],
  level: LogCommand['level'],
  msg: string,
  fields?: Record<string, unknown>,
): void {
  out.push(fields === undefined ? { type: 'log', level, msg } : { type: 'log', level, msg, fields });
}

export type CallCommand =
  | TwilioCommand
  | ModelCommand
  | ModelConnectionCommand
  | TimerCommand
  | RestCommand
  | ToolCommand
  | RecordCommand
  | LogCommand;
