/**
 * `npm run bench -- filter`: the design search behind the resampler's tuning constants
 * (src/audio/resampler.ts: FILTER_TAPS, FILTER_CUTOFF_HZ, FILTER_KAISER_BETA).
 *
 * Analytic, from the prototype's frequency response (DTFT of the taps at 24 kHz), which
 * governs both directions: passband deviation = max |gain| over 300–3400 Hz (10 Hz steps);
 * stopband = worst gain from 4.6 to 12 kHz (5 Hz steps), the band whose images (up) or
 * aliases (down) land back in 300–3400 Hz. The measured, int16, chunked figures are in
 * `npm run bench -- audio` and the quality tests.
 */
import {
  designKaiserLowpass,
  FILTER_CUTOFF_HZ,
  FILTER_KAISER_BETA,
  FILTER_TAPS,
  MODEL_SAMPLE_RATE_HZ,
} from '../src/audio/resampler.js';

const PASSBAND_LIMIT_DB = 0.2;

interface Design {
  taps: number;
  cutoffHz: number;
  beta: number;
  passbandDeviationDb: number;
  stopbandDb: number;
  alias5kDb: number;
  alias7kDb: number;
}

function gainDb(h: Float64Array, frequencyHz: number): number {
  const w = (2 * Math.PI * frequencyHz) / MODEL_SAMPLE_RATE_HZ;
  const cosW = Math.cos(w);
  const sinW = Math.sin(w);
  // e^{−iwj} by rotation: exact enough over ≤ 100 taps, and no trig per tap
  let c = 1;
  let s = 0;
  let re = 0;
  let im = 0;
  for (let j = 0; j < h.length; j++) {
    re += h[j]! * c;
    im -= h[j]! * s;
    const s2 = s * cosW + c * sinW;
    c = c * cosW - s * sinW;
    s = s2;
  }
  return 20 * Math.log10(Math.hypot(re, im));
}

function evaluate(taps: number, cutoffHz: number, beta: number): Design {
  const h = designKaiserLowpass(taps, cutoffHz, beta, MODEL_SAMPLE_RATE_HZ);
  let passbandDeviationDb = 0;
  for (let f = 300; f <= 3400; f += 10) passbandDeviationDb = Math.max(passbandDeviationDb, Math.abs(gainDb(h, f)));
  let worst = -Infinity;
  for (let f = 4600; f <= 12000; f += 5) worst = Math.max(worst, gainDb(h, f));
  return {
    taps,
    cutoffHz,
    beta,
    passbandDeviationDb,
    stopbandDb: -worst,
    alias5kDb: -gainDb(h, 5000),
    alias7kDb: -gainDb(h, 7000),
  };
}

function bestFor(taps: number): Design | null {
  let best: Design | null = null;
  for (let cutoffHz = 3700; cutoffHz <= 4200; cutoffHz += 25) {
    for (let beta = 2; beta <= 12; beta += 0.25) {
      const d = evaluate(taps, cutoffHz, beta);
      if (d.passbandDeviationDb <= PASSBAND_LIMIT_DB && (best === null || d.stopbandDb > best.stopbandDb)) best = d;
    }
  }
  return best;
}

const row = (d: Design): string =>
  `| ${d.taps} | ${(((d.taps - 1) / 2 / MODEL_SAMPLE_RATE_HZ) * 1000).toFixed(3)} | ${d.cutoffHz} | ${d.beta} ` +
  `| ${d.passbandDeviationDb.toFixed(3)} | ${d.stopbandDb.toFixed(1)} | ${d.alias5kDb.toFixed(1)} ` +
  `| ${d.alias7kDb.toFixed(1)} |`;

const HEADER = [
  '| taps | delay (ms) | cutoff (Hz) | β | passband dev. (dB) | worst stopband ≥ 4.6 kHz (dB) | 5 kHz (dB) ' +
    '| 7 kHz (dB) |',
  '|---|---|---|---|---|---|---|---|',
];

/** Prints the design tables; returns the exit code. */
export function runFilterDesignBench(args: readonly string[]): number {
  if (args.length > 0) {
    process.stderr.write('usage: npm run bench -- filter\n');
    return 2;
  }
  const out: string[] = [];
  out.push('## Resampler filter design (Kaiser-windowed sinc at 24 kHz)', '');
  out.push(
    `Best cutoff (25 Hz grid) and β (0.25 grid) per length, passband within ±${PASSBAND_LIMIT_DB} dB:`,
    '',
    ...HEADER,
  );
  for (let taps = 48; taps <= 96; taps += 6) {
    const best = bestFor(taps);
    out.push(best === null ? `| ${taps} | – | no design meets the passband limit | | | | | |` : row(best));
  }
  out.push(
    '',
    `Sensitivity around the chosen design (${FILTER_TAPS} taps, ${FILTER_CUTOFF_HZ} Hz, β ${FILTER_KAISER_BETA}):`,
    '',
    ...HEADER,
  );
  for (const cutoffHz of [3875, 3900, 3925, 3950, 3975])
    out.push(row(evaluate(FILTER_TAPS, cutoffHz, FILTER_KAISER_BETA)));
  for (const beta of [5.75, 6, 6.5, 6.75]) out.push(row(evaluate(FILTER_TAPS, FILTER_CUTOFF_HZ, beta)));
  out.push('');
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
