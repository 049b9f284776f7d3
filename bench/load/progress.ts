/** A carriage-return progress bar on stderr (one line per phase when stderr is not a terminal). */

const WIDTH = 28;

export class ProgressBar {
  private lastLabel = '';
  private lastDraw = 0;
  private readonly tty = process.stderr.isTTY === true;
  private readonly startedAt = performance.now();

  /** @param totalS estimated seconds of the whole run, for the overall bar and the ETA */
  constructor(private totalS: number) {}

  /** Re-estimates the whole run (a sweep that stops early is shorter). */
  setTotal(totalS: number): void {
    this.totalS = totalS;
  }

  /**
   * @param doneS estimated seconds of the run completed so far
   * @param label what is happening now
   */
  update(doneS: number, label: string): void {
    if (!this.tty) {
      // one line per phase, without the counters that change every update
      const phase = label.replace(/\d+\/\d+/g, '').replace(/\d+ s left/g, '');
      if (phase !== this.lastLabel) process.stderr.write(`${label}\n`);
      this.lastLabel = phase;
      return;
    }
    const now = performance.now();
    if (now - this.lastDraw < 200 && label === this.lastLabel) return;
    this.lastDraw = now;
    this.lastLabel = label;
    const fraction = Math.max(0, Math.min(1, doneS / this.totalS));
    const filled = Math.round(fraction * WIDTH);
    const elapsedS = (now - this.startedAt) / 1000;
    const etaS = fraction > 0.02 ? Math.max(0, elapsedS / fraction - elapsedS) : this.totalS - elapsedS;
    const bar =
      `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ` +
      `${(fraction * 100).toFixed(0).padStart(3)} % ~${formatDuration(etaS)} left`;
    process.stderr.write(`\r${bar}  ${label}`.padEnd(110).slice(0, 140));
  }

  /** Ends the bar's line (before printing anything else). */
  newline(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

function formatDuration(s: number): string {
  const total = Math.round(Math.max(0, s));
  const m = Math.floor(total / 60);
  return m > 0 ? `${m} min ${String(total % 60).padStart(2, '0')} s` : `${total} s`;
}
