/**
 * What an operator may ask of a live call (SPEC §12: hang up, transfer, say), as call events.
 * The console and the API only ask; `CallSession` decides what happens, as for any other
 * event. Pure.
 */
import type { EndPlan } from './call-ending.js';

/** Words an operator asked the assistant to say, waiting for a pause, in order. */
export class OperatorSays {
  private readonly queue: string[] = [];

  add(text: string): void {
    this.queue.push(text);
  }

  get waiting(): boolean {
    return this.queue.length > 0;
  }

  /** The next words' `response.create` instructions (the model says them word for word), or null. */
  next(): string | null {
    const text = this.queue.shift();
    if (text === undefined) return null;
    return `Say exactly the following to the caller, word for word, and nothing else: ${JSON.stringify(text)}`;
  }
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
