/**
 * `npm run bench -- edge [--stream-seconds 65] [--no-write]`: the edge limits of issue #14,
 * measured with the production settings (what the tests shorten through test seams).
 *
 * - **Media stream past the request timeout.** The HTTP server cuts requests after 30 s
 *   (checked every second); an upgraded media socket must not be cut. A simulated phone holds
 *   a call for `--stream-seconds` (default 65 s, twice the timeout and more), asking a question
 *   at 45 s: counted are the caller frames that reached the model and the assistant frames
 *   that reached the phone after the 31st second.
 * - **A slow body.** A raw TCP client sends a POST's headers, then one byte a second: how long
 *   until the bridge answers 408 and closes (30 s plus at most one check interval).
 * - **Nesting before validation.** `PUT /api/numbers` with a profile nested N levels deep
 *   (arrays and objects): status and median time of three requests per depth.
 *
 * The bridge runs in-process with the emulator as its model.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { parseWav } from '../src/audio/wav.js';
import { SimulatedPhone } from '../src/sim/phone.js';
import { PROJECT_ROOT } from '../src/util/project-files.js';

import { startInProcessBridge, type InProcessBridge } from './in-process-bridge.js';

const NUMBERS = `defaults:
  instructions: Edge bench.
  voice: alloy
  greeting: Thanks for calling!
`;
const DEPTHS = [100, 500, 1_000, 2_000, 8_000, 60_000];
/** what the model receives: PCM16 at 24 kHz */
const PCM16_24K_BYTES_PER_MS = 48;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const silence = (ms: number) => Buffer.alloc(ms * 8, 0xff);

interface StreamResult {
  heldSeconds: number;
  stillOpen: boolean;
  callerFramesToModelAfter31s: number;
  assistantFramesToPhoneAfter31s: number;
}

async function holdStream(
  { bridge, emulator }: Pick<InProcessBridge, 'bridge' | 'emulator'>,
  seconds: number,
): Promise<StreamResult> {
  const wav = parseWav(readFileSync(path.join(PROJECT_ROOT, 'test/fixtures/audio/caller_hours.ulaw8k.wav')));
  if (!wav.ok) throw new Error(wav.reason);
  const questionAtMs = Math.max(0, seconds * 1000 - 20_000);
  const sessionP = emulator.nextSession();
  const phone = new SimulatedPhone({
    bridgeUrl: bridge.localUrl,
    to: '+15551230001',
    callerAudio: Buffer.concat([silence(questionAtMs), Buffer.from(wav.value.data), silence(30_000)]),
  });
  await phone.dial();
  const model = await sessionP;
  const appendedMs = () =>
    model.received
      .filter((r) => r.type === 'input_audio_buffer.append')
      .reduce((ms, r) => ms + (r.audioBytes ?? 0) / PCM16_24K_BYTES_PER_MS, 0);
  while (phone.nowMs() < 31_000) await sleep(50);
  const at31 = { toPhone: phone.stats.framesReceived, toModelMs: appendedMs() };
  while (phone.nowMs() < seconds * 1000) await sleep(50);
  const result = {
    heldSeconds: Math.round(phone.nowMs() / 100) / 10,
    stillOpen: phone.isOpen && model.isOpen,
    callerFramesToModelAfter31s: Math.round((appendedMs() - at31.toModelMs) / 20),
    assistantFramesToPhoneAfter31s: phone.stats.framesReceived - at31.toPhone,
  };
  await phone.hangUp();
  return result;
}

/** Seconds from the headers to the bridge closing a body sent one byte a second, and the status line. */
async function slowBody(url: string): Promise<{ closedAfterS: number; answer: string }> {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const started = performance.now();
  socket.write(
    'POST /twilio/status HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
      'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\n',
  );
  const drip = setInterval(() => socket.write('a'), 1_000);
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  clearInterval(drip);
  return { closedAfterS: Math.round((performance.now() - started) / 100) / 10, answer: answer.split('\r\n')[0] ?? '' };
}

interface NestingRow {
  shape: 'arrays' | 'objects';
  depth: number;
  bytes: number;
  status: number;
  medianMs: number;
}

async function nesting(url: string): Promise<NestingRow[]> {
  const rows: NestingRow[] = [];
  for (const shape of ['arrays', 'objects'] as const) {
    for (const depth of DEPTHS) {
      const inner =
        shape === 'arrays'
          ? `${'['.repeat(depth)}${']'.repeat(depth)}`
          : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      const body = `{"turn_detection":${inner}}`;
      if (body.length > 256 * 1024) continue;
      const times: number[] = [];
      let status = 0;
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const res = await fetch(`${url}/api/numbers/%2B15551230001`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await res.text();
        times.push(performance.now() - started);
        status = res.status;
      }
      times.sort((a, b) => a - b);
      rows.push({ shape, depth, bytes: body.length, status, medianMs: Math.round(times[1]! * 10) / 10 });
    }
  }
  return rows;
}

export async function runEdgeBench(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { 'stream-seconds': { type: 'string', default: '65' }, 'no-write': { type: 'boolean', default: false } },
  });
  const seconds = Number(values['stream-seconds']);
  const { bridge, emulator, close } = await startInProcessBridge(NUMBERS, 'edge');
  try {
    const [stream, slow] = await Promise.all([holdStream({ bridge, emulator }, seconds), slowBody(bridge.localUrl)]);
    const depths = await nesting(bridge.localUrl);
    const report =
      `media stream held ${stream.heldSeconds} s (the request timeout is 30 s): open ${stream.stillOpen}, ` +
      `after the 31st second ${stream.callerFramesToModelAfter31s} caller frames reached the model and ` +
      `${stream.assistantFramesToPhoneAfter31s} assistant frames the phone\n` +
      `slow body (1 byte/s): "${slow.answer}" and closed after ${slow.closedAfterS} s\n\n` +
      '| nesting | depth | bytes | status | median ms |\n|---|---|---|---|---|\n' +
      depths.map((r) => `| ${r.shape} | ${r.depth} | ${r.bytes} | ${r.status} | ${r.medianMs} |`).join('\n') +
      '\n';
    process.stdout.write(report);
    if (!values['no-write']) {
      const resultsDir = path.join(PROJECT_ROOT, 'bench/results');
      mkdirSync(resultsDir, { recursive: true });
      writeFileSync(
        path.join(resultsDir, `edge-${new Date().toISOString().slice(0, 10)}.json`),
        `${JSON.stringify({ node: process.version, stream, slow, nesting: depths }, null, 2)}\n`,
      );
    }
    const ok = stream.stillOpen && stream.callerFramesToModelAfter31s > 0 && slow.answer.includes('408');
    return ok && depths.every((r) => r.status === 400) ? 0 : 1;
  } finally {
    await close();
  }
}
