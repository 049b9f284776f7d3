/**
 * Latency samples for the load bench: a growable Float64Array (no per-sample objects, so
 * recording 10⁶ frames costs 8 MB and no GC churn) with exact percentiles by sorting once.
 */

/** Summary of one direction's frame latencies over a measurement window. */
export interface LatencySummary {
  /** frames measured */
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** frames whose latency exceeded the late threshold */
  late: number;
}

export class LatencySamples {
  private values = new Float64Array(4096);
  private length = 0;
  private lateCount = 0;

  /** @param lateMs a sample above this counts as a late frame */
  constructor(private readonly lateMs: number) {}

  add(ms: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = ms;
    if (ms > this.lateMs) this.lateCount++;
  }

  /** Counts a frame as late without a latency value (e.g. its send time fell out of the ring). */
  addLate(): void {
    this.lateCount++;
  }

  reset(): void {
    this.length = 0;
    this.lateCount = 0;
  }

  get count(): number {
    return this.length;
  }

  summary(): LatencySummary {
    const sorted = this.values.slice(0, this.length).sort();
    return {
      count: this.length,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.length > 0 ? sorted[sorted.length - 1]! : null,
      late: this.lateCount,
    };
  }
}

/**
 * Nearest-rank percentile of ascending `sorted` values (the smallest value with at least p %
 * of the samples at or below it); null when empty.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}
