/**
 * `npm run bench [-- <name> [args…]]`: a thin dispatcher over the benchmarks in bench/.
 * No name runs the audio bench. Each runner writes its report to stdout and returns an exit
 * code; an unknown name prints the usage and exits 2.
 *
 * To add a benchmark, add one entry to BENCHES naming its module
 * in bench/ and its exported runner; modules load lazily, so one bench's dependencies are not
 * loaded by another.
 */

/**
 * A benchmark: takes the arguments after its name, writes its report, returns an exit code
 * (directly if it does no IO it must wait for, else as a promise).
 */
type BenchRunner = (args: readonly string[]) => number | Promise<number>;

interface BenchEntry {
  description: string;
  /** module under bench/, without extension */
  module: string;
  /** name of its exported {@link BenchRunner} */
  runner: string;
}

const BENCHES: Readonly<Record<string, BenchEntry>> = {
  audio: {
    description: 'transcoder CPU and quality vs the naive wave-resampler pipeline and μ-law passthrough',
    module: 'audio',
    runner: 'runAudioBench',
  },
  'barge-in': {
    description:
      'barge-in figures: clear latency and truncation error over randomized interruption points (real speech, ~70 s)',
    module: 'barge-in',
    runner: 'runBargeInBench',
  },
  load: {
    description: 'concurrent calls on one core: the real server vs simulated phones and a fake model, both audio modes',
    module: 'load',
    runner: 'runLoadBench',
  },
  recording: {
    description: 'recording on vs off at 100 calls: paired steps, CPU per call-second and caller→model p99',
    module: 'recording',
    runner: 'runRecordingBench',
  },
  scale: {
    description: 'SQLite vs PostgreSQL store at 200 calls: caller→model p99, CPU per call-second, database load',
    module: 'scale',
    runner: 'runScaleBench',
  },
  soak: {
    description: 'memory over a long run: 100 calls for 10 minutes, RSS at the end vs minute 2',
    module: 'load',
    runner: 'runSoakBench',
  },
  edge: {
    description: 'edge limits with production settings: a stream past the request timeout, a slow body, nesting',
    module: 'edge',
    runner: 'runEdgeBench',
  },
  startup: {
    description: 'compiled build vs npm start vs tsx: start-up to /healthz and RSS, idle and under calls',
    module: 'startup',
    runner: 'runStartupBench',
  },
  store: {
    description: 'the call store under a lock held by another process: write cost on the loop, 20 calls, loop p99',
    module: 'store',
    runner: 'runStoreBench',
  },
  tools: {
    description:
      'HTTP tool round trip through the bridge: request built → output, p50/p99 over 200 calls to a local backend',
    module: 'tool-rtt',
    runner: 'runToolBench',
  },
  'first-word': {
    description:
      'webhook → first greeting audio, p50/p90 of 50 calls, with and without warm start (300 ms connect delay)',
    module: 'first-word',
    runner: 'runFirstWordBench',
  },
  events: {
    description: 'call events: delivery latency to a local backend; frame p99 of 100 calls with a 1,000-event backlog',
    module: 'events',
    runner: 'runEventsBench',
  },
  outbound: {
    description:
      'outbound calls through the Twilio simulator: answer → first greeting audio (20 people), verdict → voicemail',
    module: 'outbound',
    runner: 'runOutboundBench',
  },
  kernels: {
    description: 'resampler kernels: WebAssembly SIMD (the default) vs the scalar reference and fallback',
    module: 'kernels',
    runner: 'runKernelsBench',
  },
  filter: {
    description: 'resampler filter design: the taps / cutoff / Kaiser β grid behind the tuning constants',
    module: 'filter-design',
    runner: 'runFilterDesignBench',
  },
};

/**
 * Loads a runner from bench/. The specifier is computed on purpose: bench/ lies outside
 * src/, and a literal import would pull it into tsconfig.build.json (rootDir: src) and break
 * the build. bench/ is type-checked by the main tsconfig; the shape is checked here at runtime.
 */
async function loadRunner(entry: BenchEntry): Promise<BenchRunner> {
  const specifier = `../../bench/${entry.module}.js`;
  const loaded = (await import(specifier)) as Record<string, unknown>;
  const runner = loaded[entry.runner];
  if (typeof runner !== 'function') throw new Error(`bench/${entry.module} does not export ${entry.runner}()`);
  return runner as BenchRunner;
}

const DEFAULT_BENCH = 'audio';

function usage(): string {
  const names = Object.entries(BENCHES).map(([name, b]) => `  ${name.padEnd(8)} ${b.description}`);
  return `usage: npm run bench [-- <name> [args…]]   (default: ${DEFAULT_BENCH})\n${names.join('\n')}\n`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name = DEFAULT_BENCH, ...rest] = argv;
  if (name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return 0;
  }
  const bench = Object.hasOwn(BENCHES, name) ? BENCHES[name] : undefined;
  if (bench === undefined) {
    process.stderr.write(`unknown bench: ${name}\n${usage()}`);
    return 2;
  }
  return (await loadRunner(bench))(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
