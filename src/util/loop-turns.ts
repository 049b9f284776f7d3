/**
 * Work started in a burst, spread over event-loop turns: the first start of a burst goes at
 * once, each later one waits for a turn of its own (one per loop iteration, `setImmediate`
 * chained), so timers and socket reads — other calls' media frames — run in between. For
 * starts that cost the loop a millisecond or two each, like a `fetch` being set up: fifty in
 * one tick stalled the loop by ~80 ms (bench/README.md, HTTP tool burst).
 */

const waiting: (() => void)[] = [];
/** a turn is taken in the current loop iteration (a release is scheduled) */
let taken = false;

function release(): void {
  const next = waiting.shift();
  if (next === undefined) {
    taken = false;
    return;
  }
  next();
  setImmediate(release);
}

/** Null when the caller may start now; else a promise that resolves on the caller's own loop turn. */
export function loopTurn(): Promise<void> | null {
  if (!taken) {
    taken = true;
    setImmediate(release);
    return null;
  }
  return new Promise((resolve) => waiting.push(resolve));
}
