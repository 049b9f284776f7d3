/**
 * `npm run bench -- scale`: what the shared PostgreSQL store costs the audio path and the
 * database (issue #21), in the load bench's set-up (bench/load.ts): per run one step on SQLite
 * and one on PostgreSQL (`DATABASE_URL`, a fresh schema per step), back to back on fresh
 * servers, the order alternating between runs.
 *
 * Per step: caller→model p99 over every frame and server CPU per call-second; for PostgreSQL
 * also the database's commits per second and the rows written per call-minute, from
 * `pg_stat_database` / `pg_stat_user_tables` read after the server exits (its statistics are
 * flushed then).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { PgDatabase } from '../src/store/pg-database.js';
import { PROJECT_ROOT } from './load/children.js';
import { ProgressBar } from './load/progress.js';
import {
  benchOptions,
  fmt,
  machineInfo,
  machineLine,
  pairedStepOptions,
  preflight,
  replaceReadmeSection,
  runStep,
  stepSeconds,
  type LoadOptions,
  type StepResult,
} from './load.js';

const USAGE = `usage: npm run bench -- scale [options]
  --calls N            concurrent calls per step (default 200)
  --runs N             SQLite/PostgreSQL pairs (default 1)
  --steady S           measurement window per step (default 25)
  --database URL       PostgreSQL to use (default $TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/test)
  --no-write           no files in bench/results, README untouched
`;

interface ScaleBenchOptions {
  calls: number;
  runs: number;
  databaseUrl: string;
  load: LoadOptions;
}

function parse(args: readonly string[]): ScaleBenchOptions | string {
  const load = pairedStepOptions(25);
  const o: ScaleBenchOptions = {
    calls: 200,
    runs: 1,
    databaseUrl: process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
    load,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = args[i + 1];
    const n = Number(value);
    if (arg === '--no-write') {
      load.write = false;
      load.readme = null;
      continue;
    }
    if (arg === '--calls' && Number.isInteger(n) && n > 0) o.calls = n;
    else if (arg === '--runs' && Number.isInteger(n) && n > 0) o.runs = n;
    else if (arg === '--steady' && n >= 1) load.steadyS = n;
    else if (arg === '--database' && /^postgres(ql)?:\/\//.test(value ?? '')) o.databaseUrl = value!;
    else return `unknown or invalid argument: ${arg}\n${USAGE}`;
    i++;
  }
  return o;
}

interface DbLoad {
  commits: number;
  rows: number;
  seconds: number;
}

interface Step {
  run: number;
  engine: 'SQLite' | 'PostgreSQL';
  result: StepResult;
  db: DbLoad | null;
}

async function dbCounters(db: PgDatabase, schema: string): Promise<{ commits: number; rows: number }> {
  const commits = await db.query<{ n: number }>(
    'SELECT xact_commit::bigint AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  const rows = await db.query<{ n: number | null }>(
    'SELECT SUM(n_tup_ins + n_tup_upd + n_tup_del)::bigint AS n FROM pg_stat_user_tables WHERE schemaname = $1',
    [schema],
  );
  return { commits: commits.rows[0]?.n ?? 0, rows: rows.rows[0]?.n ?? 0 };
}

function render(date: string, machine: ReturnType<typeof machineInfo>, o: ScaleBenchOptions, steps: Step[]): string {
  const lines = [
    `### SQLite vs PostgreSQL at ${o.calls} calls (${date})`,
    '',
    `Machine: ${machineLine(machine)}. pcm16 (transcoding) calls; ${o.load.steadyS} s measured after ` +
      `${o.load.warmupS} s warm-up; each pair is two fresh servers back to back. The database runs on the same ` +
      'machine (its CPU is not in the server figure).',
    '',
    '| run | store | caller→model p50 / p99 every frame (ms) | server CPU ms per call-s | lost frames ' +
      '| PostgreSQL commits/s | rows written per call-minute | load average |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const s of steps) {
    const callMinutes = s.db === null ? 0 : (s.result.calls * s.db.seconds) / 60;
    lines.push(
      `| ${s.run} | ${s.engine} | ${fmt(s.result.window.up.p50Ms, 2)} / ${fmt(s.result.window.up.p99Ms, 2)} ` +
        `| ${fmt(s.result.cpuMsPerCallSecond, 2)} | ${s.result.lost} ` +
        `| ${s.db === null ? '–' : fmt(s.db.commits / s.db.seconds, 1)} ` +
        `| ${s.db === null || callMinutes === 0 ? '–' : fmt(s.db.rows / callMinutes, 1)} ` +
        `| ${fmt(s.result.loadAverage1m, 1)} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

export async function runScaleBench(args: readonly string[]): Promise<number> {
  const o = benchOptions(args, USAGE, parse);
  if (typeof o === 'number') return o;
  const pinning = preflight(o.load.nice);
  if (pinning === null) return 1;
  const machine = machineInfo(pinning);
  const date = new Date().toISOString().slice(0, 10);
  const plan: { run: number; engine: Step['engine'] }[] = [];
  for (let run = 1; run <= o.runs; run++)
    for (const engine of run % 2 === 1 ? (['SQLite', 'PostgreSQL'] as const) : (['PostgreSQL', 'SQLite'] as const))
      plan.push({ run, engine });
  const stepS = stepSeconds(o.calls, o.load, o.load.steadyS);
  const bar = new ProgressBar(plan.length * stepS);
  const steps: Step[] = [];
  let doneS = 0;
  for (const step of plan) {
    const label = `run ${step.run} ${step.engine}`;
    const progress = (s: number, what: string) => bar.update(doneS + Math.min(s, stepS), `${label}: ${what}`);
    let result: StepResult;
    let load: DbLoad | null = null;
    if (step.engine === 'SQLite') {
      result = await runStep('pcm16', o.calls, o.load, pinning, { progress });
    } else {
      const schema = `bench_${Date.now().toString(36)}`;
      const db = await PgDatabase.open(o.databaseUrl, { schema, maxConnections: 1 });
      try {
        const before = await dbCounters(db, schema);
        const started = performance.now();
        const url = new URL(o.databaseUrl);
        url.searchParams.set('options', `-c search_path=${schema}`);
        result = await runStep(
          'pcm16',
          o.calls,
          { ...o.load, server: { env: { DATABASE_URL: url.toString() } } },
          pinning,
          { progress },
        );
        const seconds = (performance.now() - started) / 1000;
        const after = await dbCounters(db, schema);
        load = { commits: after.commits - before.commits, rows: after.rows - before.rows, seconds };
      } finally {
        await db.query(`DROP SCHEMA ${schema} CASCADE`);
        await db.close();
      }
    }
    doneS += stepS;
    bar.newline();
    process.stderr.write(
      `${label}: ${fmt(result.cpuMsPerCallSecond, 2)} ms CPU per call-s, caller→model p99 ` +
        `${fmt(result.window.up.p99Ms, 2)} ms, ${result.verdict}\n`,
    );
    steps.push({ run: step.run, engine: step.engine, result, db: load });
  }
  const report = render(date, machine, o, steps);
  process.stdout.write(`\n${report}`);
  if (o.load.write) {
    mkdirSync(path.join(PROJECT_ROOT, o.load.outDir), { recursive: true });
    const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-');
    const base = path.join(PROJECT_ROOT, o.load.outDir, `scale-${stamp}`);
    writeFileSync(`${base}.json`, `${JSON.stringify({ date, machine, options: o, steps }, null, 2)}\n`);
    writeFileSync(`${base}.md`, report);
    process.stderr.write(`scale bench: wrote ${path.relative(PROJECT_ROOT, base)}.{json,md}\n`);
  }
  if (o.load.readme !== null) replaceReadmeSection(o.load.readme, 'scale-bench', report);
  return 0;
}
