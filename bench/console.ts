/**
 * The console's page loads (issue #20): the Calls page with 10,000 stored calls, and the Call
 * page of a ten-minute recorded call, timed in Debian's Chromium against the real bridge.
 *
 *     npx tsx bench/console.ts [--runs 5]
 *
 * Each figure is from navigation to the page drawn (the calls table's rows; the timeline
 * picture and the player's WAV metadata), the bundle already built (the first visit builds it:
 * printed apart as "cold").
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { chromium } from 'playwright-core';

import { Bridge } from '../src/app.js';
import { encodeMulaw } from '../src/audio/g711.js';
import { loadConfig } from '../src/config/env.js';
import { RECORDING_FORMAT } from '../src/protocol/recording.js';
import { CallsRepo } from '../src/store/calls-repo.js';
import { createLogger } from '../src/util/logger.js';

const CALLS = 10_000;
const LONG_CALL_MS = 10 * 60_000;
const LONG_SID = 'CAlongcall0000000000000000000000';
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;

function seedCalls(dataDir: string): void {
  const repo = new CallsRepo(path.join(dataDir, 'calls.sqlite'));
  const t0 = Date.UTC(2026, 10, 1);
  for (let i = 0; i < CALLS; i++) {
    const callSid = `CA${String(i).padStart(32, '0')}`;
    const startedAtMs = t0 + i * 60_000;
    repo.startCall({ callSid, from: '+15550001111', to: '+15551230001', profile: '+15551230001', startedAtMs });
    repo.addTurn(callSid, {
      role: 'assistant',
      text: 'Thanks for calling, how can I help?',
      truncated: false,
      atMs: startedAtMs + 900,
    });
    repo.addTurn(callSid, {
      role: 'caller',
      text: 'What are your opening hours?',
      truncated: false,
      atMs: startedAtMs + 4000,
    });
    repo.finishCall(callSid, 'caller_hung_up', null, startedAtMs + 30_000);
  }
  const startedAtMs = t0 + CALLS * 60_000;
  repo.startCall({ callSid: LONG_SID, from: '+15550001111', to: '+15551230001', profile: '+15551230001', startedAtMs });
  for (let s = 0; s < LONG_CALL_MS / 10_000; s++)
    repo.addTurn(LONG_SID, {
      role: s % 2 === 0 ? 'caller' : 'assistant',
      text: 'A sentence of the conversation, long enough to look like one.',
      truncated: s % 6 === 5,
      atMs: startedAtMs + s * 10_000,
    });
  repo.finishCall(LONG_SID, 'completed', null, startedAtMs + LONG_CALL_MS);
  repo.close();
}

/** A ten-minute recording in format 3: both sides talk in turns, with every line a real call has. */
function writeLongRecording(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [
    JSON.stringify({
      type: 'header',
      format: RECORDING_FORMAT,
      version: 3,
      callSid: LONG_SID,
      profile: '+15551230001',
      dialect: 'ga',
      startedAt: new Date().toISOString(),
      tracks: {
        twilio_in: { file: `${LONG_SID}.twilio_in.ulaw`, encoding: 'mulaw', sampleRate: 8000 },
        twilio_out: { file: `${LONG_SID}.twilio_out.ulaw`, encoding: 'mulaw', sampleRate: 8000 },
        model_in: { file: `${LONG_SID}.model_in.pcm16`, encoding: 'pcm16', sampleRate: 24000 },
        model_out: { file: `${LONG_SID}.model_out.pcm16`, encoding: 'pcm16', sampleRate: 24000 },
      },
    }),
  ];
  const frame = (hz: number, n: number) => {
    const pcm = new Int16Array(160);
    for (let i = 0; i < 160; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * hz * (n * 160 + i)) / 8000));
    return encodeMulaw(pcm);
  };
  const callerAudio: Uint8Array[] = [];
  const assistantAudio: Uint8Array[] = [];
  for (let f = 0; f < LONG_CALL_MS / 20; f++) {
    const t = f * 20;
    const callerTalks = Math.floor(t / 10_000) % 2 === 0;
    callerAudio.push(callerTalks ? frame(440, f) : new Uint8Array(160).fill(0xff));
    lines.push(
      JSON.stringify({
        t,
        dir: 'twilio_in',
        audio: 160,
        msg: { event: 'media', media: { timestamp: String(t), payload: '' } },
      }),
    );
    lines.push(
      JSON.stringify({ t: t + 1, dir: 'model_in', audio: 960, msg: { type: 'input_audio_buffer.append', audio: '' } }),
    );
    if (!callerTalks) {
      assistantAudio.push(frame(1000, f));
      lines.push(
        JSON.stringify({ t: t + 2, dir: 'twilio_out', audio: 160, msg: { event: 'media', media: { payload: '' } } }),
      );
      if (f % 5 === 0)
        lines.push(JSON.stringify({ t: t + 2, dir: 'twilio_out', msg: { event: 'mark', mark: { name: `m${f}` } } }));
    }
    if (t % 10_000 === 0) {
      const kind = callerTalks ? 'input_audio_buffer.speech_started' : 'input_audio_buffer.speech_stopped';
      lines.push(JSON.stringify({ t, dir: 'model_out', msg: { type: kind } }));
    }
    if (t % 60_000 === 50_000) lines.push(JSON.stringify({ t, dir: 'twilio_out', msg: { event: 'clear' } }));
  }
  writeFileSync(path.join(dir, `${LONG_SID}.jsonl`), `${lines.join('\n')}\n`);
  writeFileSync(path.join(dir, `${LONG_SID}.twilio_in.ulaw`), Buffer.concat(callerAudio));
  writeFileSync(path.join(dir, `${LONG_SID}.twilio_out.ulaw`), Buffer.concat(assistantAudio));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function spread(xs: number[]): string {
  return `median ${median(xs).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'console-bench-'));
  const dataDir = path.join(dir, 'data');
  let seeded = performance.now();
  seedCalls(dataDir);
  writeLongRecording(path.join(dataDir, 'recordings'));
  seeded = performance.now() - seeded;
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, RECORD_CALLS: '0' }, dir);
  const bridge = await Bridge.start({ config, logger: createLogger({ level: 'silent' }), watchNumbers: false });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  const page = await browser.newPage();
  const timed = async (url: string, ready: () => Promise<unknown>) => {
    await page.goto('about:blank');
    const t = performance.now();
    await page.goto(url);
    await ready();
    return performance.now() - t;
  };
  const callsReady = () => page.waitForSelector('table.calls tbody tr');
  const callReady = () =>
    Promise.all([
      page.waitForSelector('svg.timeline'),
      page
        .locator('audio')
        .evaluate(
          (a: { readyState: number; addEventListener(t: string, f: () => void): void }) =>
            new Promise<void>((resolve) =>
              a.readyState >= 1 ? resolve() : a.addEventListener('loadedmetadata', resolve),
            ),
        ),
    ]);
  const cold = await timed(`${bridge.localUrl}/console#/calls`, callsReady);
  const api = async (url: string) => {
    const t = performance.now();
    await (await fetch(`${bridge.localUrl}${url}`)).arrayBuffer();
    return performance.now() - t;
  };
  // the first view of the call scans its recording (nothing cached yet): what a person opening it feels
  const callCold = await timed(`${bridge.localUrl}/console#/call/${LONG_SID}`, callReady);
  const apiCalls = await api('/api/calls?limit=50');
  const apiTimeline = await api(`/api/calls/${LONG_SID}/timeline`);
  const calls: number[] = [];
  const call: number[] = [];
  for (let i = 0; i < runs; i++) {
    calls.push(await timed(`${bridge.localUrl}/console#/calls`, callsReady));
    call.push(await timed(`${bridge.localUrl}/console#/call/${LONG_SID}`, callReady));
  }
  const bundle = await (await fetch(`${bridge.localUrl}/console/app.js`)).arrayBuffer();
  const css = await (await fetch(`${bridge.localUrl}/console/app.css`)).arrayBuffer();
  process.stdout.write(
    [
      `seeded ${CALLS} calls and a ${LONG_CALL_MS / 60_000}-minute recording in ${(seeded / 1000).toFixed(1)} s`,
      `Calls page, first visit (bundle built): ${cold.toFixed(0)} ms`,
      `Calls page, ${CALLS} calls stored, ${runs} runs: ${spread(calls)}`,
      `Call page, ${LONG_CALL_MS / 60_000}-minute call, first view (recording scanned): ${callCold.toFixed(0)} ms`,
      `Call page, ${LONG_CALL_MS / 60_000}-minute call, ${runs} runs: ${spread(call)}`,
      `API: /api/calls?limit=50 ${apiCalls.toFixed(0)} ms; ` +
        `timeline of the 10-minute call ${apiTimeline.toFixed(0)} ms (scanned)`,
      `bundle: app.js ${bundle.byteLength} B, app.css ${css.byteLength} B`,
    ].join('\n') + '\n',
  );
  await browser.close();
  await bridge.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
