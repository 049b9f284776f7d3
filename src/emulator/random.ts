/**
 * Seeded randomness for the emulator: delta sizes and ids are drawn from it, so a run with
 * the same seed and the same input produces the same wire traffic.
 */

/** mulberry32: a tiny, well-mixed 32-bit PRNG; plenty for pacing jitter and ids. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** An id like the real API's: `prefix` + 22 base-62 characters (`resp_`, `item_`, `event_`, …). */
  id(prefix: string): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    let out = prefix;
    for (let i = 0; i < 22; i++) out += alphabet[Math.floor(this.next() * alphabet.length)];
    return out;
  }
}
