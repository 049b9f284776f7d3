/**
 * The goodbye (SPEC §8, MAX_CALL_DURATION_S): when the bridge ends a call at its length limit
 * and the profile has a `goodbye`, the assistant says it the way it says the greeting — asked
 * for once the answer in progress, if any, is done — and the call ends once that response has
 * played. Pure.
 */

/**
 * Longest wait for the goodbye: the answer in progress finishing, then the goodbye itself (a
 * sentence, ~3 s); a model that never says it does not hold the call open.
 */
export const GOODBYE_MAX_MS = 20_000;

const LIMIT_LEAD = 'The call has reached its time limit and ends now.';

export class Goodbye {
  private owed = false;
  private lead = LIMIT_LEAD;
  private requested = false;
  /** the goodbye's response, once created */
  responseId: string | null = null;

  constructor(private text: string | null) {}

  /**
   * The limit was reached: true when a goodbye will be said, false when the call ends at once.
   * `instead` says another goodbye for another reason (the idle goodbye, SPEC §11).
   */
  begin(instead?: { text: string; lead: string }): boolean {
    if (instead !== undefined) ({ text: this.text, lead: this.lead } = instead);
    this.owed = this.text !== null;
    return this.owed;
  }

  /** The goodbye's `response.create` instructions, once: owed, and no response in progress. */
  instructions(activeResponse: string | null): string | null {
    if (!this.owed || activeResponse !== null || this.text === null) return null;
    this.owed = false;
    this.requested = true;
    return `${this.lead} Say exactly the following, then stop: "${this.text}"`;
  }

  /** A response started: the first one after the request is the goodbye. */
  responseCreated(responseId: string): void {
    if (this.requested && this.responseId === null) this.responseId = responseId;
  }

  /** The end waits for the goodbye's response, which does not exist yet. */
  get pending(): boolean {
    return this.owed || (this.requested && this.responseId === null);
  }
}
