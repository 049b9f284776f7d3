/**
 * Outbound calls (SPEC §13) through the local Twilio simulator and the emulator: how long a
 * person who picks up waits for the first word, and how soon after the answering-machine
 * verdict the voicemail message starts. Run: `npm run bench -- outbound [--people 20] [--machines 5]`.
 *
 * Per person: answer → first greeting audio at the callee, and the end of their "hello?" →
 * first audio (what they feel as the pause). Per machine: the AMD verdict → first message audio,
 * and the beep's end → first message audio (must be > 0: nothing is said over the greeting).
 * Calls run four at a time.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { TwilioSim, type SimCall } from '../src/sim/twilio-sim.js';
import { SystemClock } from '../src/util/clock.js';
import { startInProcessBridge } from './in-process-bridge.js';

const ACCOUNT_SID = `AC${'0'.repeat(32)}`;
const AUTH_TOKEN = 'outbound-bench-auth-token';
const ADMIN_TOKEN = 'outbound-bench-admin-token';
const AT_ONCE = 4;

const NUMBERS = `
defaults:
  instructions: Outbound bench line.
  greeting: Hello, this is Example Dental calling about your appointment.
  outbound: { machine_detection: voicemail, voicemail_message: Please call Example Dental back. }
`;

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function summary(values: number[]): { n: number; p50: number; p90: number; max: number } {
  return {
    n: values.length,
    p50: Math.round(quantile(values, 0.5)),
    p90: Math.round(quantile(values, 0.9)),
    max: Math.round(Math.max(...values)),
  };
}

export async function runOutboundBench(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { people: { type: 'string' }, machines: { type: 'string' } },
  });
  const people = Number(values.people ?? 20);
  const machines = Number(values.machines ?? 5);
  const sim = await TwilioSim.start({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    clock: new SystemClock(),
    calleeFor: (to) => (to.endsWith('2') ? 'machine' : 'person'),
    personHangUpMs: 4_000,
  });
  const bridge = await startInProcessBridge(NUMBERS, 'outbound', {
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_API_BASE_URL: sim.url,
    ADMIN_TOKEN,
    OUTBOUND_CPS: '100',
  });
  const place = async (to: string): Promise<SimCall> => {
    const res = await fetch(`${bridge.bridge.localUrl}/api/calls`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to, from: '+15551230001' }),
    });
    if (res.status !== 201) throw new Error(`POST /api/calls answered ${res.status}: ${await res.text()}`);
    const { callSid } = (await res.json()) as { callSid: string };
    return sim.call(callSid)!.done;
  };
  const run = async (count: number, to: string): Promise<SimCall[]> => {
    const done: SimCall[] = [];
    for (let i = 0; i < count; i += AT_ONCE)
      done.push(...(await Promise.all(Array.from({ length: Math.min(AT_ONCE, count - i) }, () => place(to)))));
    return done;
  };
  try {
    const personCalls = await run(people, '+15557770001');
    const machineCalls = await run(machines, '+15557770002');
    const heard = personCalls.filter((c) => c.firstAssistantAudioMs !== null);
    const voicemails = machineCalls.filter((c) => c.firstAssistantAudioMs !== null && c.verdictAtMs !== null);
    const report = {
      bench: 'outbound',
      at: new Date().toISOString(),
      people: {
        calls: personCalls.length,
        greeted: heard.length,
        answerToFirstAudioMs: summary(heard.map((c) => c.firstAssistantAudioMs!)),
        helloEndToFirstAudioMs: summary(heard.map((c) => c.firstAssistantAudioMs! - c.audio!.firstWordsEndMs)),
      },
      machines: {
        calls: machineCalls.length,
        voicemails: voicemails.length,
        verdictToMessageMs: summary(voicemails.map((c) => c.firstAssistantAudioMs! - c.verdictAtMs!)),
        beepEndToMessageMs: summary(voicemails.map((c) => c.firstAssistantAudioMs! - c.audio!.beepEndMs!)),
      },
    };
    const p = report.people;
    const m = report.machines;
    const firstMessageMs = Math.round(
      Math.min(...voicemails.map((c) => c.firstAssistantAudioMs! - c.audio!.beepEndMs!)),
    );
    process.stdout.write(
      [
        `people   ${p.greeted}/${p.calls} greeted; answer → first greeting audio ` +
          `p50 ${p.answerToFirstAudioMs.p50} ms, p90 ${p.answerToFirstAudioMs.p90} ms; ` +
          `end of "hello?" → first audio p50 ${p.helloEndToFirstAudioMs.p50} ms, ` +
          `p90 ${p.helloEndToFirstAudioMs.p90} ms`,
        `machines ${m.voicemails}/${m.calls} voicemails; verdict → message start ` +
          `p50 ${m.verdictToMessageMs.p50} ms, p90 ${m.verdictToMessageMs.p90} ms; ` +
          `beep end → message start min ${firstMessageMs} ms`,
        '',
      ].join('\n'),
    );
    const dir = path.join(import.meta.dirname, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `outbound-${report.at.slice(0, 10)}.json`), `${JSON.stringify(report, null, 2)}\n`);
    return p.greeted === p.calls && m.voicemails === m.calls ? 0 : 1;
  } finally {
    await bridge.close();
    await sim.close();
  }
}
