/**
 * Test helper: an ordered log of events with cursor-based waiting, so a test can say
 * "then X, then Y" without sleeps. `next()` looks from the cursor onwards and moves the
 * cursor past what it returns; a wait that cannot be met fails with the events seen so far.
 */

/** How long a single wait may take before it fails with a readable message (below the 5 s test timeout). */
const WAIT_TIMEOUT_MS = 4_000;

export class EventQueue<T extends { type: string }> {
  readonly events: T[] = [];
  private cursor = 0;
  private waiters: { from: number; match: (e: T) => boolean; resolve: (e: T) => void; index?: number }[] = [];

  /** Adds an event (use as the onEvent callback). */
  readonly push = (event: T): void => {
    const index = this.events.push(event) - 1;
    for (const w of [...this.waiters]) {
      if (index >= w.from && w.match(event)) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.index = index;
        w.resolve(event);
      }
    }
  };

  /** The next event of `type` (and matching `predicate`) at or after the cursor; moves the cursor past it. */
  next<K extends T['type']>(
    type: K,
    predicate?: (e: Extract<T, { type: K }>) => boolean,
    timeoutMs = WAIT_TIMEOUT_MS,
  ): Promise<Extract<T, { type: K }>> {
    const match = (e: T): boolean =>
      e.type === type && (predicate === undefined || predicate(e as Extract<T, { type: K }>));
    for (let i = this.cursor; i < this.events.length; i++) {
      if (match(this.events[i]!)) {
        this.cursor = i + 1;
        return Promise.resolve(this.events[i] as Extract<T, { type: K }>);
      }
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        from: this.events.length,
        match,
        resolve: (e: T) => {
          clearTimeout(timer);
          this.cursor = (waiter.index ?? this.events.length - 1) + 1;
          resolve(e as Extract<T, { type: K }>);
        },
      } as { from: number; match: (e: T) => boolean; resolve: (e: T) => void; index?: number };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== waiter);
        reject(new Error(`timed out waiting for ${type}; saw: ${this.events.map((e) => e.type).join(', ')}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Events of `type` seen so far. */
  all<K extends T['type']>(type: K): Extract<T, { type: K }>[] {
    return this.events.filter((e) => e.type === type) as Extract<T, { type: K }>[];
  }

  /** Event types from index `from` on. */
  typesSince(from: number): string[] {
    return this.events.slice(from).map((e) => e.type);
  }

  get length(): number {
    return this.events.length;
  }
}
