/**
 * What an operator may ask of a live call (SPEC §12: hang up, transfer, say), as call events.
 * The console and the API only ask; `CallSession` decides what happens, as for any other
 * event. Pure.
 */
import type { EndPlan } from './call-ending.js';

/** Instructions that make the model say `text` word for word. */
export function sayInstructions(text: string): string {
  return `Say exactly the following to the caller, word for word, and nothing else: ${JSON.stringify(text)}`;
}

/** The end an operator's transfer asks for: after what is queued, through REST (nothing without REST credentials). */
export function operatorTransfer(to: string, canUseRest: boolean): EndPlan | null {
  if (!canUseRest) return null;
  return {
    outcome: 'transferred',
    detail: 'operator transfer',
    responseId: null,
    rest: { type: 'rest.transfer', to },
    transfer: null,
  };
}
