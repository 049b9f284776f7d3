/**
 * `npm run bench -- barge-in [--calls 5] [--per-call 4] [--seed 1]`: barge-in figures over
 * randomized interruption points, with real speech end to end.
 *
 * The real bridge runs in-process with the emulator as its model; simulated phones (real
 * time, marks echoed as playout reaches them, all pending marks echoed on clear) ask a
 * question, get the 15 s answer clip, and talk over it with caller_interrupt at a random
 * point, at a random model streaming speed (so some barge-ins happen while the answer is
 * still streaming — cancel + truncate — and some after it was fully sent — truncate only).
 *
 * Per barge-in it measures:
 * - clear latency: the model's `speech_started` leaving the emulator → `clear` arriving at
 *   the phone (one machine clock);
 * - truncation error: `audio_end_ms` the model received − what the phone had actually played
 *   of that item when the clear arrived (last echoed mark + audio played since).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { seededRandom } from '../src/audio/signals.js';
import { parseWav } from '../src/audio/wav.js';
import type { EmulatorSession } from '../src/emulator/emulator-session.js';
import { SimulatedPhone, type ClearRecord } from '../src/sim/phone.js';
import { PROJECT_ROOT } from '../src/util/project-files.js';

import { startInProcessBridge } from './in-process-bridge.js';

const AUDIO = path.join(PROJECT_ROOT, 'test/fixtures/audio');

function clip(name: string): Buffer {
  const wav = parseWav(readFileSync(path.join(AUDIO, name)));
  if (!wav.ok) throw new Error(wav.reason);
  return wav.value.data;
}

const silence = (ms: number) => Buffer.alloc(Math.round(ms) * 8, 0xff);

interface Sample {
  call: number;
  cycle: number;
  speed: number;
  offsetMs: number;
  clearLatencyMs: number;
  audioEndMs: number;
  heardMs: number;
  errorMs: number;
  cancelled: boolean;
}

const NUMBERS = `defaults:
  instructions: Barge-in bench.
  voice: alloy
  turn_detection: { type: server_vad, threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 }
`;

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i]!;
}

export async function runBargeInBench(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      calls: { type: 'string', default: '5' },
      'per-call': { type: 'string', default: '4' },
      seed: { type: 'string', default: '1' },
    },
  });
  const calls = Number(values.calls);
  const perCall = Number(values['per-call']);
  const random = seededRandom(Number(values.seed));

  const { bridge, emulator, close } = await startInProcessBridge(NUMBERS, 'barge-in');

  const hours = clip('caller_hours.ulaw8k.wav');
  const interrupt = clip('caller_interrupt.ulaw8k.wav');
  /** The answer starts ~0.8 s after the question ends (VAD silence + model latency). */
  const ANSWER_STARTS_AFTER_MS = 800;
  const samples: Sample[] = [];
  process.stderr.write(`barge-in bench: ${calls} calls × ${perCall} barge-ins, real time\n`);

  await Promise.all(
    Array.from({ length: calls }, async (_unused, callIndex) => {
      // The caller's script: per cycle, question → (answer playing) → interruption at a random point → pause.
      const parts: Buffer[] = [];
      const plan: { speed: number; offsetMs: number }[] = [];
      for (let c = 0; c < perCall; c++) {
        const offsetMs = Math.round(500 + random() * 6_000);
        const speed = [1.5, 2, 4, 8][Math.floor(random() * 4)]!;
        plan.push({ speed, offsetMs });
        parts.push(silence(300), hours, silence(ANSWER_STARTS_AFTER_MS + offsetMs), interrupt, silence(3_500));
      }
      const sessionP = emulator.nextSession();
      const phone = new SimulatedPhone({
        bridgeUrl: bridge.localUrl,
        to: '+15551230001',
        callerAudio: Buffer.concat(parts),
      });
      const clears: { record: ClearRecord; atMs: number }[] = [];
      phone.on('clear', (record: ClearRecord) => clears.push({ record, atMs: Date.now() }));
      await phone.dial();
      const model: EmulatorSession = await sessionP;
      // Per cycle: the question gets the long answer at this cycle's speed; the interruption a short reply.
      for (const p of plan)
        model.queueResponse({ kind: 'clip', clip: 'long', pacing: { speed: p.speed } }, { kind: 'clip', clip: 'done' });
      for (let c = 0; c < perCall; c++) {
        const truncate = await model.nextReceived('conversation.item.truncate');
        await waitFor(() => clears.length > c, 3_000);
        const speechStarted = model.sent
          .filter((r) => r.type === 'input_audio_buffer.speech_started' && r.atMs <= truncate.atMs)
          .at(-1)!;
        const clear = clears[c]!;
        const markMs = clear.record.lastPlayedMark === null ? 0 : Number(clear.record.lastPlayedMark.split(':').pop());
        const heardMs = markMs + clear.record.playedSinceMarkMs;
        const audioEndMs = truncate.wire['audio_end_ms'] as number;
        const cancelled = model.received.some(
          (r) => r.type === 'response.cancel' && Math.abs(r.atMs - truncate.atMs) < 50,
        );
        samples.push({
          call: callIndex,
          cycle: c,
          ...plan[c]!,
          clearLatencyMs: clear.atMs - speechStarted.atMs,
          audioEndMs,
          heardMs,
          errorMs: audioEndMs - heardMs,
          cancelled,
        });
        process.stderr.write(`\r  ${samples.length}/${calls * perCall} barge-ins measured`);
      }
      await phone.hangUp();
    }),
  );
  process.stderr.write('\n');
  await close();

  const latencies = samples.map((s) => s.clearLatencyMs).sort((a, b) => a - b);
  const errors = samples.map((s) => s.errorMs).sort((a, b) => a - b);
  const within = samples.filter((s) => s.errorMs >= -40 && s.errorMs <= 60).length;
  const summary = {
    machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version },
    samples: samples.length,
    cancelled: samples.filter((s) => s.cancelled).length,
    clearLatencyMs: {
      min: latencies[0],
      p50: quantile(latencies, 0.5),
      p90: quantile(latencies, 0.9),
      max: latencies.at(-1),
    },
    truncationErrorMs: { min: errors[0], p50: quantile(errors, 0.5), p90: quantile(errors, 0.9), max: errors.at(-1) },
    withinMinus40Plus60: within,
  };
  const table = [
    '| barge-ins | mid-stream (cancel + truncate) | clear latency min / p50 / p90 / max (ms) ' +
      '| truncation error min / p50 / p90 / max (ms) | within −40…+60 ms |',
    '|---|---|---|---|---|',
    `| ${summary.samples} | ${summary.cancelled} ` +
      `| ${latencies[0]} / ${quantile(latencies, 0.5)} / ${quantile(latencies, 0.9)} / ${latencies.at(-1)} ` +
      `| ${errors[0]} / ${quantile(errors, 0.5)} / ${quantile(errors, 0.9)} / ${errors.at(-1)} ` +
      `| ${within} / ${samples.length} |`,
  ].join('\n');
  const detail = samples
    .map(
      (s) =>
        `| ${s.call}.${s.cycle} | ${s.speed}× | ${s.offsetMs} | ${s.cancelled ? 'yes' : 'no'} ` +
        `| ${s.clearLatencyMs} | ${s.heardMs} | ${s.audioEndMs} | ${s.errorMs} |`,
    )
    .join('\n');
  process.stdout.write(
    `${table}\n\n` +
      '| call.cycle | model speed | interrupt at (ms into answer) | cancelled | clear latency (ms) | heard (ms) ' +
      '| audio_end_ms | error (ms) |\n' +
      `|---|---|---|---|---|---|---|---|\n${detail}\n`,
  );
  const resultsDir = path.join(PROJECT_ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    path.join(resultsDir, `barge-in-${new Date().toISOString().slice(0, 10)}.json`),
    `${JSON.stringify({ summary, samples }, null, 2)}\n`,
  );
  return within === samples.length && samples.length >= 20 ? 0 : 1;
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out waiting for the clear');
    await new Promise((r) => setTimeout(r, 2));
  }
}
