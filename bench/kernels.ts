/**
 * `npm run bench -- kernels`: the resampler's two kernel implementations side by side — the
 * WebAssembly SIMD kernels the bridge picks where it can, and the scalar reference it falls
 * back to — on the same speech-like signal, chunked as the bridge chunks it (20 ms frames up,
 * 50–400 ms deltas down). CPU time from `process.cpuUsage()`, median of the runs, the two
 * kinds interleaved run by run so that machine noise hits both alike. Resampling only: no
 * JSON, base64 or G.711 (the audio bench measures the whole path).
 */
import type { FirKernelKind, FirKernels } from '../src/audio/fir-kernels.js';
import { buildResamplerKernels, Downsampler24kTo8k, Upsampler8kTo24k } from '../src/audio/resampler.js';
import { renderTones, seededRandom, speechShapedTones } from '../src/audio/signals.js';

const USAGE = 'usage: npm run bench -- kernels [--runs N (default 9)] [--seconds S (default 20)]\n';

interface Options {
  runs: number;
  warmups: number;
  seconds: number;
}

function parseOptions(args: readonly string[]): Options | string {
  const options: Options = { runs: 9, warmups: 2, seconds: 20 };
  for (let i = 0; i < args.length; i++) {
    const value = Number(args[i + 1]);
    if (args[i] === '--runs' && Number.isInteger(value) && value >= 1) options.runs = value;
    else if (args[i] === '--seconds' && value > 0) options.seconds = value;
    else return `unknown or invalid argument: ${String(args[i])}\n${USAGE}`;
    i++;
  }
  return options;
}

function chunks(x: Int16Array, sizes: () => number): Int16Array[] {
  const out: Int16Array[] = [];
  for (let at = 0; at < x.length;) {
    const n = sizes();
    out.push(x.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** CPU ms for one pass of every chunk through a fresh resampler. */
function cpuMs(run: () => void): number {
  const t0 = process.cpuUsage();
  run();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1000;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export function runKernelsBench(args: readonly string[]): number {
  const options = parseOptions(args);
  if (typeof options === 'string') {
    process.stderr.write(options);
    return 2;
  }
  const kernels: FirKernels[] = [];
  for (const kind of ['simd', 'scalar'] as const) {
    const k = buildResamplerKernels(kind);
    if (k === null) process.stderr.write(`kernels bench: no ${kind} kernels on this runtime, skipped\n`);
    else kernels.push(k);
  }
  const speech = speechShapedTones(7);
  const random = seededRandom(11);
  const in8k = chunks(Int16Array.from(renderTones(speech, 8000, options.seconds * 8000), Math.round), () => 160);
  const in24k = chunks(Int16Array.from(renderTones(speech, 24000, options.seconds * 24000), Math.round), () =>
    Math.round(1200 + random() * 8400),
  );
  const out = new Int16Array(3 * 9600);
  const samples: Record<string, { up: number[]; down: number[] }> = {};
  for (const k of kernels) samples[k.kind] = { up: [], down: [] };
  for (let run = 0; run < options.warmups + options.runs; run++) {
    for (const k of kernels) {
      const up = cpuMs(() => {
        const r = new Upsampler8kTo24k(k);
        for (const c of in8k) r.process(c, out);
      });
      const down = cpuMs(() => {
        const r = new Downsampler24kTo8k(k);
        for (const c of in24k) r.process(c, out);
      });
      if (run >= options.warmups) {
        samples[k.kind]!.up.push(up);
        samples[k.kind]!.down.push(down);
      }
    }
  }
  const perSecond = (ms: number) => ms / options.seconds;
  const rows = kernels.map((k) => {
    const s = samples[k.kind]!;
    return { kind: k.kind, up: perSecond(median(s.up)), down: perSecond(median(s.down)) };
  });
  const simd = rows.find((r) => r.kind === 'simd');
  const lines = [
    `Resampler kernels, ${options.seconds} s of audio per direction, median of ${options.runs} runs ` +
      `(Node ${process.version}):`,
    '',
    '| kernels | up 8 → 24 kHz (CPU ms per audio-s) | down 24 → 8 kHz (CPU ms per audio-s) | both | vs SIMD |',
    '|---|---|---|---|---|',
    ...rows.map((r) => {
      const both = r.up + r.down;
      const ratio = simd === undefined ? 'n/a' : `${(both / (simd.up + simd.down)).toFixed(1)}×`;
      return `| ${label(r.kind)} | ${r.up.toFixed(3)} | ${r.down.toFixed(3)} | ${both.toFixed(3)} | ${ratio} |`;
    }),
    '',
  ];
  process.stdout.write(lines.join('\n'));
  return 0;
}

function label(kind: FirKernelKind): string {
  return kind === 'simd' ? 'WebAssembly SIMD (default)' : 'scalar (reference, fallback)';
}
