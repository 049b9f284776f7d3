/**
 * The model's responses, one at a time (PROTOCOLS §6.4): the one in progress, a request that
 * waits for it to end, and the responses cut short (a barge-in, a dropped socket) whose late
 * audio and words are ignored. Pure.
 */
export class ModelResponses {
  /** the response in progress (`response.created` seen, `response.done` not yet) */
  active: string | null = null;
  private waiting = false;
  private readonly cut = new Set<string>();

  /** A response is wanted: true when it may be asked for now, false when it waits for the active one. */
  request(): boolean {
    if (this.active === null) return true;
    this.waiting = true;
    return false;
  }

  /** Ask once the active response has ended (the model refused one while another was active, say). */
  later(): void {
    this.waiting = true;
  }

  /** The response ended. */
  ended(responseId: string): void {
    if (this.active === responseId) this.active = null;
  }

  /** True once, when a waiting request may go now (no response is active). */
  takeWaiting(): boolean {
    if (!this.waiting || this.active !== null) return false;
    this.waiting = false;
    return true;
  }

  /** A response cut short: it is over, and its late events are ignored. */
  discard(responseId: string): void {
    this.cut.add(responseId);
    if (this.active === responseId) this.active = null;
  }

  /** The response in progress, unless it was cut short already (then the server has been told). */
  get cancellable(): string | null {
    return this.active !== null && !this.cut.has(this.active) ? this.active : null;
  }

  isDiscarded(responseId: string): boolean {
    return this.cut.has(responseId);
  }
}
