/**
 * The V8 garbage-collector flags the bridge runs with, in one place. They go on node's command
 * line — `npm start`, the Dockerfile's CMD, and so the load bench and the child-process tests,
 * which run `npm start`'s command (scripts/start-command.ts) — never through
 * `v8.setFlagsFromString` at run time, whose behaviour after the VM has started Node documents
 * as undefined (https://nodejs.org/api/v8.html#v8setflagsfromstringflags).
 * test/unit/util/gc-tuning.test.ts keeps `npm start` and the Dockerfile equal to this list.
 *
 * Why each (figures: bench/README.md, "What sets the latency tail"):
 * - `--single-threaded-gc`: a bridge process is one event loop, deployed one per core. V8's
 *   default helper threads (parallel scavenge, concurrent marking and sweeping) share that
 *   core with the main thread, which then waits for them while they wait for the CPU; the
 *   waits set the frame-latency tail.
 * - `--incremental-marking-soft-trigger=80`, `--incremental-marking-hard-trigger=95`: a call
 *   churns short-lived strings and Buffers while the live heap stays small. By default V8
 *   starts incremental marking once the room below the old-generation limit is smaller than
 *   the young generation, which for a heap this small comes after a few MB of growth, so
 *   full collections follow each other closely. These start marking at 80 % of the way to the
 *   limit (95 %: at once) and leave the limit, and so the heap size, unchanged.
 */

/** node flags for the bridge process, in the order `npm start` and the Dockerfile pass them. */
export const NODE_GC_FLAGS = [
  '--single-threaded-gc',
  '--incremental-marking-soft-trigger=80',
  '--incremental-marking-hard-trigger=95',
] as const;

/**
 * How this process's collector is set up, for the start-up log: `tuned` when node was started
 * with every one of {@link NODE_GC_FLAGS} (as `npm start` does), else `V8 defaults`.
 */
export function gcMode(execArgv: readonly string[] = process.execArgv): 'tuned' | 'V8 defaults' {
  return NODE_GC_FLAGS.every((flag) => execArgv.includes(flag)) ? 'tuned' : 'V8 defaults';
}
