/**
 * `npm run replay -- <file>`: replays a recorded call through the current bridge code on a
 * virtual clock and reports where the bridge now behaves differently (SPEC §7). Exit code 0
 * only when nothing differs beyond tolerance; 1 when something does; 2 for a bad command line
 * or an unreadable file.
 *
 * A Twilio-side capture (one Media Streams message per line, no header) is streamed through
 * an in-process bridge and the local emulator instead; the report is the turns the model
 * saw (exit 0 when the call went through).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { detectFileKind, parseTwilioCapture, type ModelTurn } from '../recording/capture.js';
import { CAPTURE_DEFAULT_TO, replayCapture } from '../recording/capture-replay.js';
import { RECORDING_FORMAT, recordingToText } from '../protocol/recording.js';
import { parseRecordingAt } from '../recording/recording-file.js';
import { formatReport, replayRecording } from '../recording/replayer.js';
import { describeError } from '../util/errors.js';

const USAGE = `usage: npm run replay -- <recording.jsonl | twilio-capture.jsonl> [options]

A bridge recording (DATA_DIR/recordings/<CallSid>.jsonl) is replayed on a virtual clock
and compared with what the bridge sends now. Options:
  --tuning name=value    override a recorded session tuning value (repeatable), e.g.
                         --tuning truncationCushionMs=250
  --out <file>           write the replayed call as a recording (all four directions)
  --json                 print the report as JSON instead of text

A Twilio Media Streams capture (one message per line) is streamed through an in-process
bridge and the local emulator; the turns the model saw are printed. Options:
  --to <E.164>           the called number, which picks the profile (default ${CAPTURE_DEFAULT_TO}: the defaults)
  --speed <n>            multiple of real time (default 4)
  --linger <ms>          silence sent after the capture's last frame (default 0)
  --save <file>          keep the bridge's recording of the call (replayable with npm run replay)`;

/** A progress bar on stderr, only for a terminal and only once a replay takes a while. */
function progressBar(label: string): { update(fraction: number): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  const started = performance.now();
  let shown = false;
  let last = -1;
  return {
    update(fraction) {
      if (!tty || performance.now() - started < 300) return;
      const width = 30;
      const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
      if (filled === last) return;
      last = filled;
      shown = true;
      process.stderr.write(
        `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(fraction * 100)}%`,
      );
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

function parseTuning(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^([A-Za-z]+)=(-?\d+(?:\.\d+)?)$/.exec(v);
    if (m === null) throw new Error(`--tuning expects name=number, got ${JSON.stringify(v)}`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

function formatTurns(turns: ModelTurn[], firstFrameMs: number): string[] {
  const s = (ms: number) => ((ms + firstFrameMs) / 1000).toFixed(2);
  return turns.map((t, i) => {
    const speech =
      `speech ${s(t.speechStartMs)} s → ` +
      `${t.speechEndMs === null ? 'still talking when the call ended' : `${s(t.speechEndMs)} s`}`;
    const transcript = t.transcript === null ? 'no transcript' : `transcript ${JSON.stringify(t.transcript)}`;
    const answer =
      t.response === null
        ? 'no response'
        : `answered by ${t.response.id} ` +
          `(${t.response.status ?? 'unfinished'}, ${(t.response.audioMs / 1000).toFixed(2)} s of audio)`;
    return `  turn ${i + 1}: ${speech}; ${transcript}; ${answer}${t.bargeIn ? '; barged in on the assistant' : ''}`;
  });
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        tuning: { type: 'string', multiple: true },
        out: { type: 'string' },
        json: { type: 'boolean' },
        to: { type: 'string' },
        speed: { type: 'string' },
        linger: { type: 'string' },
        save: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`${describeError(err)}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const file = positionals[0]!;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    process.stderr.write(`cannot read ${file}: ${describeError(err)}\n`);
    return 2;
  }

  const kind = detectFileKind(text);
  if (kind === 'twilio-capture') {
    const capture = parseTwilioCapture(text);
    if (!capture.ok) {
      process.stderr.write(`${file}: ${capture.reason}\n`);
      return 2;
    }
    const c = capture.capture;
    const speed = values.speed === undefined ? 4 : Number(values.speed);
    const lingerMs = values.linger === undefined ? 0 : Number(values.linger);
    if (!(speed > 0) || !(lingerMs >= 0)) {
      process.stderr.write(`--speed must be > 0 and --linger ≥ 0\n`);
      return 2;
    }
    const first = c.frames[0]!.timestampMs;
    const last = c.frames.at(-1)!.timestampMs;
    process.stdout.write(
      `Twilio capture ${file}: call ${c.callSid}, ${c.frames.length} media frames (${first} → ${last} ms), ` +
        `${c.dtmf.length} DTMF, ${c.stopped ? 'ends with stop' : 'no stop'}` +
        `${c.skipped > 0 ? `, ${c.skipped} lines skipped` : ''}\n`,
    );
    const bar = progressBar('streaming');
    const report = await replayCapture(c, {
      ...(values.to !== undefined ? { to: values.to } : {}),
      speed,
      lingerMs,
      onProgress: (ms, total) => bar.update(ms / total),
    });
    bar.done();
    process.stdout.write(
      'streamed through an in-process bridge ' +
        `(local emulator, ${report.dialect}, profile ${report.profile}, ${report.audioMode}) ` +
        `at ${speed}× real time in ${(report.wallMs / 1000).toFixed(1)} s: ` +
        `${report.framesSent} frames sent, ${(report.playedMs / 1000).toFixed(2)} s of assistant audio heard, ` +
        `${report.bargeIns} barge-in(s)\n`,
    );
    process.stdout.write(`the model saw ${report.turns.length} caller turn(s) (times on the capture's media clock):\n`);
    for (const line of formatTurns(report.turns, first)) process.stdout.write(`${line}\n`);
    if (values.save !== undefined) {
      writeFileSync(values.save, report.recordingText);
      const note =
        speed === 1
          ? ''
          : `; it ran at ${speed}× real time, so its replay compares timing only roughly ` +
            '— use --speed 1 for an exact one';
      process.stdout.write(
        `the bridge's recording of this call: ${values.save} (npm run replay -- ${values.save}${note})\n`,
      );
    }
    return 0;
  }
  if (kind !== 'recording') {
    process.stderr.write(
      `${file}: neither a bridge recording (first line a "${RECORDING_FORMAT}" header) ` +
        'nor a Twilio Media Streams capture (one message per line)\n',
    );
    return 2;
  }

  const recording = parseRecordingAt(file, text);
  if (!recording.ok) {
    process.stderr.write(`${file}: ${recording.reason}\n`);
    return 2;
  }
  let tuning: Record<string, number>;
  try {
    tuning = parseTuning(values.tuning ?? []);
  } catch (err) {
    process.stderr.write(`${describeError(err)}\n`);
    return 2;
  }
  const bar = progressBar('replaying');
  let report;
  try {
    report = await replayRecording(recording.recording, { tuning, onProgress: (f) => bar.update(f) });
  } catch (err) {
    bar.done();
    process.stderr.write(`${file}: ${describeError(err)}\n`);
    return 2;
  }
  bar.done();
  if (values.out !== undefined) {
    const recorded = recording.recording.header;
    const header = { ...recorded, scenario: `replay of ${recorded.callSid}` };
    writeFileSync(values.out, recordingToText(header, report.replayed));
  }
  if (values.json === true) {
    const { replayed: _replayed, ...rest } = report;
    process.stdout.write(`${JSON.stringify(rest, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v), 2)}\n`);
  } else {
    process.stdout.write(`${formatReport(report)}\n`);
  }
  return report.ok ? 0 : 1;
}

// `npm run replay -- … | head` closes stdout early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`replay failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
  },
);
