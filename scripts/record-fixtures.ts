/**
 * `npm run record-fixtures`: re-records the recorded-call corpus in `test/fixtures/calls/`
 * (STYLE §2.9: fixtures are immutable evidence; this script is the only way to change them,
 * and its output is reviewed like code).
 *
 * Each scenario places a real call: the bridge in-process on 127.0.0.1:0 with recording on,
 * the built-in emulator as the model (scripted per scenario) and the simulated phone in real
 * time. The bridge's recording is copied to `test/fixtures/calls/<scenario>.jsonl` with the
 * scenario named in its header. Each fresh recording is then checked twice: it must show
 * what the scenario is about (a barge-in fixture without a `clear` is refused), and it must
 * replay green through the current code.
 *
 *   npm run record-fixtures [-- <scenario> …]     (default: all)
 *
 * Calls are kept short and mostly in `pcmu` mode so each file stays a few hundred kB.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { Bridge } from '../src/app.js';
import { parseWav } from '../src/audio/wav.js';
import { loadConfig } from '../src/config/env.js';
import type { EmulatorSession } from '../src/emulator/emulator-session.js';
import { readWavSamples } from '../src/emulator/clips.js';
import { RealtimeEmulator } from '../src/emulator/realtime-emulator.js';
import { messageKind, recordingToText, type Recording } from '../src/protocol/recording.js';
import { readRecording } from '../src/recording/recording-file.js';
import { formatReport, replayRecording } from '../src/recording/replayer.js';
import { recordingFileName } from '../src/recording/recorder.js';
import { SimulatedPhone, type PhoneOptions } from '../src/sim/phone.js';
import { silentLogger } from '../src/util/logger.js';
import { PROJECT_ROOT } from '../src/util/project-files.js';

const OUT_DIR = path.join(PROJECT_ROOT, 'test/fixtures/calls');
const AUDIO_DIR = path.join(PROJECT_ROOT, 'test/fixtures/audio');
const ASSETS = path.join(PROJECT_ROOT, 'assets/audio');

const TO = '+15551230001';

/** Raw μ-law 8 kHz of a caller clip, cut to [fromMs, toMs). */
function callerAudio(name: string, fromMs = 0, toMs = Infinity): Buffer {
  const wav = parseWav(readFileSync(path.join(AUDIO_DIR, name)));
  if (!wav.ok || wav.value.encoding !== 'mulaw') throw new Error(`${name}: not μ-law`);
  const data = wav.value.data;
  return data.subarray(Math.round(fromMs * 8), Math.min(data.length, Math.round(toMs * 8)));
}

function silence(ms: number): Buffer {
  return Buffer.alloc(Math.round(ms * 8), 0xff);
}

/** "What are" — the start of the hours question. */
const UTTERANCE = () => callerAudio('caller_hours.ulaw8k.wav', 0, 800);
/** "Sorry, wait." */
const INTERRUPTION = () => callerAudio('caller_interrupt.ulaw8k.wav', 0, 900);

function numbersYaml(options: { greeting: boolean; modelAudio: 'pcm16' | 'pcmu' }, toolUrl: string | null): string {
  const tools =
    toolUrl === null
      ? '  tools: [hang_up]'
      : [
          '  tools:',
          '    - hang_up',
          '    - name: lookup_appointment',
          "      description: Find the caller's next appointment by date of birth",
          '      parameters:',
          '        type: object',
          '        properties: { date_of_birth: { type: string } }',
          '        required: [date_of_birth]',
          `      http: { url: "${toolUrl}", timeout_ms: 2000 }`,
        ].join('\n');
  return [
    'defaults:',
    '  instructions: You are the recorded-fixture line of Example Dental. Answer briefly.',
    '  voice: alloy',
    `  greeting: ${options.greeting ? 'Thanks for calling Example Dental.' : 'null'}`,
    '  turn_detection: { type: server_vad, threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 }',
    '  transcription: { model: whisper-1 }',
    tools,
    `  model_audio: ${options.modelAudio}`,
    'reject_unknown: false',
    '',
  ].join('\n');
}

interface Ctx {
  phone: SimulatedPhone;
  emulator: RealtimeEmulator;
  /** the model session of the call (the first one) */
  model: EmulatorSession;
}

interface Scenario {
  name: string;
  /** what the fixture exercises (goes into the header) */
  description: string;
  greeting: boolean;
  modelAudio: 'pcm16' | 'pcmu';
  /** beta: the bridge speaks the 2024 preview shape to a standalone emulator (default GA, mounted) */
  dialect?: 'ga' | 'beta';
  /** the profile gets an HTTP tool `lookup_appointment` answered by a local backend (port 0) */
  toolBackend?: boolean;
  phone: Omit<PhoneOptions, 'bridgeUrl' | 'to'>;
  /** scripts the emulator before the call */
  setup?: (emulator: RealtimeEmulator) => void;
  /** drives the call after it is dialled; ends it (the phone hangs up or the bridge does) */
  drive: (ctx: Ctx) => Promise<void>;
  /** what the recording must show, as [kind, count predicate] per direction */
  expect: (r: Recording) => string[];
}

/** Resolves when `predicate` holds (checked every 5 ms), or throws after `timeoutMs`. */
async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = performance.now();
  while (!predicate()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The phone has played everything it was sent, and nothing came for `quietMs`. */
async function untilQuiet(phone: SimulatedPhone, quietMs: number, timeoutMs: number): Promise<void> {
  let lastReceived = phone.stats.framesReceived;
  let lastChange = performance.now();
  await until(
    () => {
      if (phone.stats.framesReceived !== lastReceived) {
        lastReceived = phone.stats.framesReceived;
        lastChange = performance.now();
      }
      const played = phone.stats.playedMs / 20;
      return (
        played >= phone.stats.framesReceived - phone.clears.reduce((n, c) => n + c.droppedMs / 20, 0) &&
        performance.now() - lastChange >= quietMs
      );
    },
    timeoutMs,
    'the assistant to finish speaking',
  );
}

function count(r: Recording, dir: string, kind: string): number {
  return r.lines.filter((l) => l.dir === dir && messageKind(l.dir, l.msg) === kind).length;
}

function need(problems: string[], ok: boolean, what: string): void {
  if (!ok) problems.push(what);
}

const SCENARIOS: Scenario[] = [
  {
    name: 'greeting-two-turns',
    description: 'the assistant greets first, then answers two caller turns (pcmu, GA)',
    greeting: true,
    modelAudio: 'pcmu',
    setup: (emulator) =>
      emulator.queueResponse(
        { kind: 'clip', clip: 'greeting' },
        { kind: 'clip', clip: 'ok' },
        { kind: 'clip', clip: 'ok' },
      ),
    phone: { callerAudio: Buffer.concat([UTTERANCE(), silence(1_700), UTTERANCE()]), callerAudioAtMs: 1_900 },
    drive: async ({ phone, model }) => {
      await until(
        () => model.sent.filter((e) => e.type === 'response.done').length >= 3,
        12_000,
        'greeting and two answers',
      );
      await untilQuiet(phone, 300, 6_000);
      await phone.hangUp();
    },
    expect: (r) => {
      const p: string[] = [];
      need(p, count(r, 'model_in', 'response.create') === 1, 'one response.create (the greeting)');
      need(p, count(r, 'model_out', 'input_audio_buffer.speech_started') === 2, 'two caller turns');
      need(p, count(r, 'model_out', 'response.done') === 3, 'three responses');
      need(p, count(r, 'twilio_out', 'clear') === 0, 'no barge-in');
      return p;
    },
  },
  {
    name: 'barge-in-mid-answer',
    description: 'the caller talks over an answer that is still streaming: clear, cancel, truncate (pcmu, GA)',
    greeting: false,
    modelAudio: 'pcmu',
    // the long answer streams in real time, so it is still in progress when the caller interrupts
    setup: (emulator) =>
      emulator.queueResponse({ kind: 'clip', clip: 'long', pacing: { speed: 1 } }, { kind: 'clip', clip: 'ok' }),
    phone: { callerAudio: Buffer.concat([UTTERANCE(), silence(1_900), INTERRUPTION()]), callerAudioAtMs: 300 },
    drive: async ({ phone, model }) => {
      await until(() => phone.clears.length >= 1, 8_000, 'the barge-in');
      await until(
        () => model.sent.filter((e) => e.type === 'response.done').length >= 2,
        6_000,
        'the answer to the interruption',
      );
      await untilQuiet(phone, 300, 6_000);
      await phone.hangUp();
    },
    expect: (r) => {
      const p: string[] = [];
      need(p, count(r, 'twilio_out', 'clear') === 1, 'one clear');
      need(p, count(r, 'model_in', 'response.cancel') === 1, 'one response.cancel');
      need(p, count(r, 'model_in', 'conversation.item.truncate') === 1, 'one truncate');
      return p;
    },
  },
  {
    name: 'barge-in-after-send',
    description:
      'the caller talks over the greeting after all of it was sent (response done): ' +
      'clear and truncate, no cancel (pcmu, GA)',
    greeting: true,
    modelAudio: 'pcmu',
    setup: (emulator) => emulator.queueResponse({ kind: 'clip', clip: 'greeting' }, { kind: 'clip', clip: 'ok' }),
    phone: { callerAudio: INTERRUPTION(), callerAudioAtMs: 900 },
    drive: async ({ phone, model }) => {
      await until(() => phone.clears.length >= 1, 6_000, 'the barge-in');
      await until(
        () => model.sent.filter((e) => e.type === 'response.done').length >= 2,
        6_000,
        'the answer to the interruption',
      );
      await untilQuiet(phone, 300, 6_000);
      await phone.hangUp();
    },
    expect: (r) => {
      const p: string[] = [];
      need(p, count(r, 'twilio_out', 'clear') === 1, 'one clear');
      need(p, count(r, 'model_in', 'response.cancel') === 0, 'no response.cancel (the greeting was done)');
      need(p, count(r, 'model_in', 'conversation.item.truncate') === 1, 'one truncate');
      const clearAt = r.lines.find((l) => l.dir === 'twilio_out' && l.msg['event'] === 'clear')?.t ?? 0;
      const greetingDone =
        r.lines.find((l) => l.dir === 'model_out' && l.msg['type'] === 'response.done')?.t ?? Infinity;
      need(p, greetingDone < clearAt, 'the greeting response done before the barge-in');
      return p;
    },
  },
  {
    name: 'dtmf',
    description: 'the caller presses 4 and 2; the digits reach the model as one text item and are answered (pcm16, GA)',
    greeting: false,
    modelAudio: 'pcm16',
    setup: (emulator) => emulator.queueResponse({ kind: 'clip', clip: 'ok' }),
    phone: {
      dtmf: [
        { digit: '4', atMs: 200 },
        { digit: '2', atMs: 400 },
      ],
    },
    drive: async ({ phone, model }) => {
      await until(() => model.sent.some((e) => e.type === 'response.done'), 6_000, 'the answer');
      await untilQuiet(phone, 200, 4_000);
      await phone.hangUp();
    },
    expect: (r) => {
      const p: string[] = [];
      need(p, count(r, 'twilio_in', 'dtmf') === 2, 'two dtmf messages');
      const item = r.lines.find((l) => l.dir === 'model_in' && l.msg['type'] === 'conversation.item.create');
      need(p, JSON.stringify(item?.msg ?? {}).includes('4 2'), 'the digits as one text item');
      need(p, count(r, 'model_in', 'response.create') === 1, 'one response.create');
      return p;
    },
  },
  {
    name: 'hang-up-tool',
    description:
      'the model says goodbye and calls hang_up; the bridge closes the stream once the goodbye has played, ' +
      'no REST credentials (pcmu, beta dialect)',
    greeting: false,
    modelAudio: 'pcmu',
    dialect: 'beta',
    setup: (emulator) =>
      emulator.queueResponse({
        kind: 'toolCall',
        name: 'hang_up',
        arguments: { reason: 'caller is done' },
        before: { clip: 'done' },
      }),
    phone: { callerAudio: UTTERANCE(), callerAudioAtMs: 300 },
    drive: async ({ phone }) => {
      await phone.closed();
    },
    expect: (r) => {
      const p: string[] = [];
      need(p, r.header.dialect === 'beta', 'the beta dialect');
      need(p, count(r, 'model_out', 'response.audio.delta') > 0, 'beta audio deltas');
      need(p, count(r, 'model_out', 'response.function_call_arguments.done') === 1, 'the hang_up call');
      need(p, count(r, 'twilio_out', 'socket.close') === 1, 'the bridge closing the stream');
      need(p, count(r, 'twilio_in', 'stop') === 0, 'no stop from the caller');
      return p;
    },
  },
  {
    name: 'http-tool',
    description:
      'the model calls the HTTP tool lookup_appointment; the backend answers after ~150 ms, the output goes to ' +
      'the model and one response.create follows (pcmu, GA; ' +
      'the exchange is on the recording, so replay needs no backend)',
    greeting: false,
    modelAudio: 'pcmu',
    toolBackend: true,
    setup: (emulator) =>
      emulator.queueResponse(
        {
          kind: 'toolCall',
          name: 'lookup_appointment',
          arguments: { date_of_birth: '1980-01-02' },
          callId: 'call_lookup_1',
        },
        { kind: 'clip', clip: 'ok' },
      ),
    phone: { callerAudio: UTTERANCE(), callerAudioAtMs: 300 },
    drive: async ({ phone, model }) => {
      await until(() => model.sent.filter((e) => e.type === 'response.done').length >= 2, 6_000, 'the answer');
      await untilQuiet(phone, 200, 4_000);
      await phone.hangUp();
    },
    expect: (r) => {
      const p: string[] = [];
      need(p, count(r, 'model_in', 'tool.call') === 1, 'the tool call on the recording');
      need(p, count(r, 'model_out', 'tool.result') === 1, 'the tool result on the recording');
      const output = r.lines.find(
        (l) =>
          l.dir === 'model_in' && (l.msg['item'] as { type?: string } | undefined)?.type === 'function_call_output',
      );
      need(p, JSON.stringify(output?.msg ?? {}).includes('Dr. Rivera'), "the backend's answer as the output");
      need(p, count(r, 'model_in', 'response.create') === 1, 'one response.create after the output');
      return p;
    },
  },
  {
    name: 'model-drop-recovery',
    description:
      'the model socket drops between turns; the bridge reconnects, restores the session and the conversation, ' +
      'and the next turn is answered (pcmu, GA)',
    greeting: false,
    modelAudio: 'pcmu',
    setup: (emulator) => emulator.queueResponse({ kind: 'clip', clip: 'ok' }, { kind: 'clip', clip: 'ok' }),
    phone: { callerAudio: Buffer.concat([UTTERANCE(), silence(2_600), UTTERANCE()]), callerAudioAtMs: 300 },
    drive: async ({ phone, model, emulator }) => {
      await until(() => model.sent.some((e) => e.type === 'response.done'), 6_000, 'the first answer');
      await untilQuiet(phone, 150, 4_000);
      const next = emulator.nextSession();
      model.drop();
      const second = await next;
      await until(() => second.sent.some((e) => e.type === 'response.done'), 8_000, 'the answer after the reconnect');
      await untilQuiet(phone, 300, 6_000);
      await phone.hangUp();
    },
    expect: (r) => {
      const p: string[] = [];
      need(
        p,
        r.lines.some((l) => l.dir === 'model_out' && l.msg['type'] === 'link.closed' && l.msg['willRetry'] === true),
        'the drop',
      );
      need(
        p,
        r.lines.some((l) => l.dir === 'model_out' && l.msg['type'] === 'link.open' && l.msg['reconnect'] === true),
        'the reconnect',
      );
      need(p, count(r, 'model_in', 'session.update') === 2, 'the session configured twice');
      need(p, count(r, 'model_in', 'conversation.item.create') >= 2, 'the conversation restored as text');
      need(p, count(r, 'model_out', 'response.done') === 2, 'both turns answered');
      return p;
    },
  },
];

function registerClips(emulator: RealtimeEmulator): void {
  const lib = emulator.clipLibrary;
  // Short clips keep the fixtures small: "Thanks for calling Example" and "All right,".
  const greeting = readWavSamples(path.join(ASSETS, 'greeting.ulaw8k.wav'));
  lib.register('greeting', {
    samples: greeting.samples.slice(0, Math.round(greeting.rateHz * 1.5)),
    rateHz: 8000,
    transcript: 'Thanks for calling Example',
  });
  const done = readWavSamples(path.join(ASSETS, 'done.ulaw8k.wav'));
  lib.register('ok', {
    samples: done.samples.slice(0, Math.round(done.rateHz * 0.8)),
    rateHz: 8000,
    transcript: 'All right,',
  });
}

/** The `http-tool` scenario's backend: a real HTTP server that answers after ~150 ms. */
async function startAppointmentBackend(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ appointment: '2026-12-09T10:00', dentist: 'Dr. Rivera' }));
      }, 150);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function record(scenario: Scenario): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'record-fixture-'));
  let backend: { url: string; close: () => Promise<void> } | null = null;
  try {
    const numbersFile = path.join(dir, 'numbers.yaml');
    backend = scenario.toolBackend === true ? await startAppointmentBackend() : null;
    writeFileSync(numbersFile, numbersYaml(scenario, backend === null ? null : `${backend.url}/lookup_appointment`));
    const env: Record<string, string> = {
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: path.join(dir, 'data'),
      NUMBERS_FILE: numbersFile,
      RECORD_CALLS: '1',
    };
    // The mounted emulator speaks GA; for beta the bridge dials a standalone one with a
    // preview api-version, which is how the emulator (like Azure) selects the beta shape.
    const standalone = scenario.dialect === 'beta' ? await RealtimeEmulator.listen({ seed: 7 }) : null;
    if (standalone !== null)
      Object.assign(env, {
        REALTIME_URL: `${standalone.url}?api-version=2024-10-01-preview`,
        REALTIME_DIALECT: 'beta',
      });
    const config = loadConfig(env, dir);
    const emulator = standalone?.emulator ?? new RealtimeEmulator({ seed: 7 });
    registerClips(emulator);
    scenario.setup?.(emulator);
    const bridge = await Bridge.start({ config, logger: silentLogger(), watchNumbers: false, emulator });
    try {
      const modelP = emulator.nextSession();
      const phone = new SimulatedPhone({ bridgeUrl: bridge.localUrl, to: TO, ...scenario.phone });
      await phone.dial();
      const model = await modelP;
      await scenario.drive({ phone, emulator, model });
      await until(() => bridge.activeCalls === 0, 3_000, 'the call to end');
      phone.drop();
    } finally {
      await bridge.close();
      await standalone?.close();
    }
    const recordings = path.join(config.dataDir, 'recordings');
    const recorded = path.join(recordings, recordingFileName(onlyCallSid(recordings)));
    const parsed = readRecording(recorded);
    if (!parsed.ok) throw new Error(`${recorded}: ${parsed.reason}`);
    const header = { ...parsed.recording.header, scenario: `${scenario.name}: ${scenario.description}` };
    const out = path.join(OUT_DIR, `${scenario.name}.jsonl`);
    // a fixture is one file: its audio inline, not in tracks beside it
    writeFileSync(out, recordingToText(header, parsed.recording.lines));
    return out;
  } finally {
    await backend?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The CallSid of the only recording in `dir` (file name minus `.jsonl`). */
function onlyCallSid(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  if (files.length !== 1) throw new Error(`expected one recording in ${dir}, found ${files.length}`);
  return files[0]!.slice(0, -'.jsonl'.length);
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.name === w));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown scenario(s): ${unknown.join(', ')}\nscenarios: ${SCENARIOS.map((s) => s.name).join(', ')}\n`,
    );
    process.exitCode = 2;
    return;
  }
  mkdirSync(OUT_DIR, { recursive: true });
  let failed = 0;
  for (const scenario of SCENARIOS.filter((s) => wanted.length === 0 || wanted.includes(s.name))) {
    process.stdout.write(`recording ${scenario.name} … `);
    const file = await record(scenario);
    const parsed = readRecording(file);
    if (!parsed.ok) throw new Error(`${file}: ${parsed.reason}`);
    const problems = scenario.expect(parsed.recording);
    const report = await replayRecording(parsed.recording);
    const kb = Math.round(readFileSync(file).length / 1024);
    const seconds = ((parsed.recording.lines.at(-1)?.t ?? 0) / 1000).toFixed(1);
    if (problems.length > 0 || !report.ok) {
      failed++;
      process.stdout.write(`FAILED (${kb} kB, ${seconds} s)\n`);
      for (const p of problems) process.stdout.write(`  scenario not shown: ${p}\n`);
      if (!report.ok) process.stdout.write(`${formatReport(report)}\n`);
    } else {
      process.stdout.write(`ok (${kb} kB, ${seconds} s of call, ${parsed.recording.lines.length} lines)\n`);
    }
  }
  if (failed > 0) {
    process.stdout.write(`${failed} scenario(s) failed; inspect them before committing the fixtures\n`);
    process.exitCode = 1;
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
