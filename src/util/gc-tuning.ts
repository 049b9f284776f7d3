/**
 * V8 garbage-collector tuning for the bridge process, applied once at start-up by main.ts.
 *
 * A call moves ~110 small messages a second, so the heap churns short-lived strings and
 * Buffers while the live heap stays small (~30 MB at 250 calls). With V8's default
 * heuristic, incremental marking starts as soon as the room left below the old-generation
 * limit is smaller than the young generation (16 MB), which after every full GC of such a
 * small heap is only ~8 MB of growth away (Node 20's limit is max(1.2 × live, live + 8 MB)
 * + 16 MB; Buffer backing stores count towards it). The load bench, 250 transcoding calls
 * on one core, measured 14–32 mark-compacts per 40 s, each a 10–13 ms pause plus marking
 * work on the same core, and they set the bridge's frame-latency p99 (20–42 ms).
 *
 * Starting marking at 80 % of the way to the limit instead (95 %: at once) leaves the
 * limit itself, and so the heap size, unchanged: 6–8 mark-compacts per 40 s and p99 6.5–10
 * ms in the same bench (bench/README.md, "What sets the latency tail").
 *
 * These flags only steer when V8 decides to start marking, which it reads at every
 * decision, so setting them after start-up is safe (unlike heap-size flags).
 *
 * One more flag is on the command line instead ({@link COMMAND_LINE_GC_FLAGS}: `npm start`,
 * the Dockerfile): `--single-threaded-gc`, which keeps V8's collector on the main thread.
 * A bridge process is one event loop and is deployed one per core; V8's default helper
 * threads (parallel scavenge, concurrent marking and sweeping) then share that core with
 * the main thread, which waits for them while they wait for the CPU. The load bench at 250
 * transcoding calls on one core measured, alternating runs: bridge frame p99 (caller→model /
 * model→caller) 5.0–7.7 / 5.6–10.3 ms with it, 10.8–16.8 / 13.6–18.7 ms without, and the
 * server never runnable-but-waiting (0 % against 2–3 %). It cannot be set at run time: V8
 * 11.3 aborts in the next collection once concurrent marking was switched off under it.
 */
import v8 from 'node:v8';

export const GC_FLAGS = ['--incremental-marking-soft-trigger=80', '--incremental-marking-hard-trigger=95'] as const;

/** V8 flags the bridge is started with (see above); `npm start` and the Dockerfile pass them to node. */
export const COMMAND_LINE_GC_FLAGS = ['--single-threaded-gc'] as const;

/**
 * How this process's collector runs, for the start-up log: `single-threaded` when node was
 * started with {@link COMMAND_LINE_GC_FLAGS} (as `npm start` does), else V8's default.
 */
export function gcMode(execArgv: readonly string[] = process.execArgv): 'single-threaded' | 'helper threads' {
  return COMMAND_LINE_GC_FLAGS.every((flag) => execArgv.includes(flag)) ? 'single-threaded' : 'helper threads';
}

/** Applies {@link GC_FLAGS} to this process. */
export function applyGcTuning(): void {
  for (const flag of GC_FLAGS) v8.setFlagsFromString(flag);
}
