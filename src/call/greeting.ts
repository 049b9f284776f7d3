/**
 * The greeting (SPEC §6.4–6.5): the assistant speaks first, asked for once, right after the
 * first `session.update`. With `greeting_interruptible: false` barge-in waits until it has
 * played, and until then the server's VAD is asked not to cancel responses either. Pure.
 */
export class Greeting {
  /** what `session.update` says about the server's VAD cancelling a response the caller talks over */
  interruptResponse: boolean;
  private requested = false;
  private responseId: string | null = null;
  private played = false;

  constructor(
    private readonly text: string | null,
    private readonly interruptible: boolean,
  ) {
    this.interruptResponse = text === null || interruptible;
  }

  /** The call is live with the model: the greeting's `response.create` instructions, the first time only. */
  instructions(): string | null {
    if (this.requested || this.text === null) return null;
    this.requested = true;
    return `Greet the caller now. Say exactly the following, then stop and wait for the caller: "${this.text}"`;
  }

  /** A response started: the first one after the request is the greeting. */
  responseCreated(responseId: string): void {
    if (this.requested && this.responseId === null) this.responseId = responseId;
  }

  /** Barge-in must wait: a greeting that is not interruptible is still playing. */
  get holdsBargeIn(): boolean {
    return !this.interruptible && this.responseId !== null && !this.played;
  }

  /**
   * Playback moved on. True once, when an uninterruptible greeting has just played out: the
   * server's VAD may cancel responses again (send `session.update`).
   */
  checkPlayed(activeResponse: string | null, hasUnplayed: (responseId: string) => boolean): boolean {
    const id = this.responseId;
    if (this.played || id === null || activeResponse === id || hasUnplayed(id)) return false;
    this.played = true;
    if (this.interruptResponse) return false;
    this.interruptResponse = true;
    return true;
  }
}
