/**
 * First word (SPEC §11 warm start): webhook → first greeting audio frame sent to Twilio, with and
 * without warm start, through the real bridge in-process and the emulator with realistic network
 * timing: 300 ms for TLS + upgrade before the model socket opens, the first audio delta 400 ms
 * after `response.create`. Between the TwiML answer and Twilio's `start` Twilio opens its own
 * TLS WebSocket to the bridge; that gap is run at 150 ms and 500 ms, since warm start can save
 * at most the smaller of the gap and the connect delay (the model connects during the gap).
 * 50 calls one after another per mode, after 3 warm-up calls.
 * Run: `npm run bench -- first-word`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';

import WebSocket from 'ws';

import { Bridge } from '../src/app.js';
import { loadConfig } from '../src/config/env.js';
import { RealtimeEmulator } from '../src/emulator/realtime-emulator.js';
import { CONNECTED_MESSAGE, startMessage } from '../src/sim/stream-messages.js';
import { parseStreamTwiml } from '../src/sim/twiml.js';
import { silentLogger } from '../src/util/logger.js';

const CONNECT_DELAY_MS = 300;
const FIRST_DELTA_MS = 400;
const TWILIO_START_GAPS_MS = [150, 500];
const CALLS = 50;
const WARM_UP = 3;

const NUMBERS = `defaults:
  instructions: Bench line.
  voice: alloy
  greeting: Thanks for calling, how can I help?
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One call: webhook → TwiML → (Twilio's gap) → socket, connected, start → first media frame. */
async function oneCall(url: string, gapMs: number): Promise<number> {
  const callSid = `CA${randomBytes(16).toString('hex')}`;
  const t0 = performance.now();
  const res = await fetch(`${url}/twilio/voice`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ CallSid: callSid, From: '+15550002222', To: '+15551230001' }).toString(),
  });
  const twiml = parseStreamTwiml(await res.text());
  if (twiml === null) throw new Error(`webhook answered ${res.status} without a stream`);
  await sleep(gapMs);
  const ws = new WebSocket(twiml.url, { perMessageDeflate: false });
  const firstAudio = new Promise<number>((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      if ((JSON.parse(data.toString()) as { event?: string }).event === 'media') resolve(performance.now());
    });
    ws.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
  const ids = { accountSid: `AC${'0'.repeat(32)}`, streamSid: `MZ${randomBytes(16).toString('hex')}`, callSid };
  ws.send(JSON.stringify(CONNECTED_MESSAGE));
  ws.send(JSON.stringify(startMessage(ids, twiml.parameters, 1)));
  const t1 = await firstAudio;
  ws.send(JSON.stringify({ event: 'stop', sequenceNumber: '9', streamSid: ids.streamSid, stop: { callSid } }));
  ws.close();
  await new Promise((r) => ws.once('close', r));
  return t1 - t0;
}

async function runMode(prewarm: boolean, gapMs: number): Promise<number[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'first-word-'));
  const numbersFile = path.join(dir, 'numbers.yaml');
  writeFileSync(numbersFile, NUMBERS);
  const config = loadConfig(
    {
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: path.join(dir, 'data'),
      NUMBERS_FILE: numbersFile,
      RECORD_CALLS: '0',
      PREWARM: prewarm ? '1' : '0',
    },
    dir,
  );
  const emulator = new RealtimeEmulator({
    connectDelayMs: CONNECT_DELAY_MS,
    // model time is divided by the speed: 4× real time, first delta 400 ms of wall time after response.create
    pacing: { speed: 4, firstDeltaDelayMs: FIRST_DELTA_MS * 4 },
    seed: 1,
  });
  const bridge = await Bridge.start({ config, logger: silentLogger(), watchNumbers: false, emulator });
  const ms: number[] = [];
  try {
    for (let i = 0; i < WARM_UP + CALLS; i++) {
      const elapsed = await oneCall(bridge.localUrl, gapMs);
      if (i >= WARM_UP) ms.push(elapsed);
      while (bridge.activeCalls > 0) await sleep(5);
    }
  } finally {
    await bridge.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return ms.sort((a, b) => a - b);
}

const quantile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** The bench runner (`npm run bench -- first-word`). */
export async function runFirstWordBench(): Promise<number> {
  process.stdout.write(
    `webhook → first greeting audio sent to Twilio, ${CALLS} calls per mode; connect delay ${CONNECT_DELAY_MS} ms, ` +
      `first delta ${FIRST_DELTA_MS} ms after response.create\n`,
  );
  for (const gapMs of TWILIO_START_GAPS_MS) {
    const rows: [string, number[]][] = [
      ['cold (PREWARM=0)', await runMode(false, gapMs)],
      ['warm (PREWARM=1)', await runMode(true, gapMs)],
    ];
    for (const [name, ms] of rows)
      process.stdout.write(
        `TwiML → start ${gapMs} ms  ${name.padEnd(18)} p50 ${quantile(ms, 0.5).toFixed(0)} ms  ` +
          `p90 ${quantile(ms, 0.9).toFixed(0)} ms  min ${ms[0]!.toFixed(0)} ms  max ${ms.at(-1)!.toFixed(0)} ms\n`,
      );
    const saved = quantile(rows[0]![1], 0.5) - quantile(rows[1]![1], 0.5);
    process.stdout.write(`TwiML → start ${gapMs} ms  warm start saves ${saved.toFixed(0)} ms at p50\n`);
  }
  return 0;
}
