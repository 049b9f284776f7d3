/**
 * How a call ends when the bridge ends it (SPEC §6.6–6.7, §8): the `hang_up` tool, a transfer,
 * the apology after the model gave up, or an operating limit. Each end is decided first and carried out once the
 * audio that goes with it has played: through Twilio's REST API, or by closing the media
 * stream. The session decides when; this module says what each end is. Pure.
 */
import type { CallLimitReason, CallOutcome, RestCommand, TimerName } from './events.js';
import type { ToolPlan } from './tools/tool.js';

/** The timers a finished call cancels. */
export const TIMERS_CANCELLED_AT_END: readonly TimerName[] = [
  'dtmf',
  'endFallback',
  'sessionRenew',
  'modelStall',
  'apologyDone',
  'opening',
  'idle',
];

/** A decided end of the call, waiting for the audio that goes with it. */
export interface EndPlan {
  outcome: CallOutcome;
  detail: string | null;
  /** the response whose audio must play first (null: whatever is queued) */
  responseId: string | null;
  /** how it leaves: a Twilio REST command, or null to close the media stream (no REST credentials) */
  rest: RestCommand | null;
  /** a transfer's tool call and what the model hears if Twilio refuses it */
  transfer: { callId: string; failedOutput: string } | null;
}

/** The end a tool plan asks for, once the response `responseId` has played. */
export function toolEnd(
  plan: Extract<ToolPlan, { kind: 'end' | 'transfer' }>,
  responseId: string,
  callId: string,
  canUseRest: boolean,
): EndPlan {
  if (plan.kind === 'transfer') {
    const transfer = { callId, failedOutput: plan.failedOutput };
    return {
      outcome: 'transferred',
      detail: plan.detail,
      responseId,
      rest: { type: 'rest.transfer', to: plan.to },
      transfer,
    };
  }
  return { outcome: 'hang_up_tool', detail: plan.detail, responseId, rest: hangUp(canUseRest), transfer: null };
}

/** The end after the apology: the model could not be reached (`detail` says why). */
export function apologyEnd(detail: string, canUseRest: boolean): EndPlan {
  return { outcome: 'error', detail, responseId: null, rest: hangUp(canUseRest), transfer: null };
}

/** The end at an operating limit (SPEC §8): outcome `error`, the limit as its reason. */
export function limitEnd(reason: CallLimitReason, canUseRest: boolean): EndPlan {
  return { outcome: 'error', detail: reason, responseId: null, rest: hangUp(canUseRest), transfer: null };
}

/** The end after the caller stayed silent through every idle prompt (SPEC §11): outcome `idle_hang_up`. */
export function idleEnd(canUseRest: boolean): EndPlan {
  return {
    outcome: 'idle_hang_up',
    detail: 'the caller stayed silent',
    responseId: null,
    rest: hangUp(canUseRest),
    transfer: null,
  };
}

function hangUp(canUseRest: boolean): RestCommand | null {
  return canUseRest ? { type: 'rest.hangUp' } : null;
}

/**
 * The end of an outbound call a machine answered (SPEC §13): after the voicemail message
 * `responseId` has played (`voicemail_left`), or at once (`machine_detected`, responseId null).
 */
export function machineEnd(responseId: string | null, detail: string, canUseRest: boolean): EndPlan {
  const outcome = responseId === null ? 'machine_detected' : 'voicemail_left';
  return { outcome, detail, responseId, rest: hangUp(canUseRest), transfer: null };
}
