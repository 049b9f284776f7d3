/**
 * Call control from the operator (SPEC §12: hang up, transfer, say). The routes ask a
 * {@link CallControl}; it finds the call and hands the request to its session as an
 * `operator.*` event — the session decides. {@link LocalCallControl} reaches the calls of this
 * process; an implementation for several instances (SPEC §14) can forward to the instance
 * that holds the call behind the same interface.
 */
import type { OperatorEvent } from '../call/events.js';

/** `sent`: the call's session has the request; `not_live`: no live call has that CallSid. */
export type ControlResult = 'sent' | 'not_live';

export interface CallControl {
  request(callSid: string, event: OperatorEvent): Promise<ControlResult>;
}

/** Delivers an event to a live call of this process, or answers false when there is none. */
export type LiveDispatch = (callSid: string, event: OperatorEvent) => boolean;

export class LocalCallControl implements CallControl {
  constructor(private readonly dispatch: LiveDispatch) {}

  request(callSid: string, event: OperatorEvent): Promise<ControlResult> {
    return Promise.resolve(this.dispatch(callSid, event) ? 'sent' : 'not_live');
  }
}
