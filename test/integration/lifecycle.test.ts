/**
 * The bridge as a process (issue #7): a call record survives SIGKILL (found `incomplete`, with
 * the turns written so far, after a restart), and SIGTERM drains gracefully (readiness flips
 * at once, new calls are politely refused, the live call keeps its audio, exit 0 after it
 * ends). Real child processes started the way `npm start` starts them, with their built-in
 * emulator.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { SimulatedPhone } from '../../src/sim/phone.js';
import { callerClip, silence, until } from '../support/call-harness.js';
import { startBridgeProcess } from '../support/child.js';
import { tempDir } from '../support/tmp.js';

const NUMBERS = `defaults:
  instructions: Lifecycle test line.
  voice: alloy
  greeting: Thanks for calling Example Dental, how can I help?
  transcription: { model: whisper-1 }
`;

function setup(): { dir: string; env: Record<string, string> } {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'numbers.yaml'), NUMBERS);
  return {
    dir,
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      NUMBERS_FILE: path.join(dir, 'numbers.yaml'),
      DATA_DIR: path.join(dir, 'data'),
      LOG_LEVEL: 'info',
    },
  };
}

interface ApiCall {
  outcome: string;
  turns: { role: string; text: string }[];
}

async function getCall(url: string, callSid: string): Promise<ApiCall | null> {
  const res = await fetch(`${url}/api/calls/${callSid}`);
  return res.status === 200 ? ((await res.json()) as ApiCall) : null;
}

describe('crash safety', () => {
  it(
    'SIGKILL mid-call, restart: the call is incomplete and keeps the turns written so far',
    { timeout: 30_000 },
    async () => {
      const { env } = setup();
      const first = startBridgeProcess(env);
      const url = String((await first.waitForLog('bridge listening'))['url']);
      // greeting (≈4.5 s), then the caller's question
      const phone = new SimulatedPhone({
        bridgeUrl: url,
        to: '+15551230001',
        callerAudio: Buffer.concat([silence(5_000), callerClip('caller_hours.ulaw8k.wav'), silence(10_000)]),
        timeScale: 2,
      });
      await phone.dial();
      let before: ApiCall | null = null;
      await (async () => {
        const started = Date.now();
        while (Date.now() - started < 15_000) {
          before = await getCall(url, phone.callSid);
          if (
            before !== null &&
            before.turns.some((t) => t.role === 'caller') &&
            before.turns.some((t) => t.role === 'assistant')
          )
            return;
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error('turns were not written');
      })();
      expect(before!.outcome).toBe('in_progress');
      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      phone.drop();

      const second = startBridgeProcess(env);
      const url2 = String((await second.waitForLog('bridge listening'))['url']);
      await second.waitForLog('calls left open by a previous crash marked incomplete');
      const after = await getCall(url2, phone.callSid);
      expect(after?.outcome).toBe('incomplete');
      expect(after?.turns).toEqual(before!.turns);
      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
    },
  );
});

describe('graceful shutdown', () => {
  it(
    'SIGTERM during a live call: readiness flips at once, the call keeps its audio, exit 0 after it ends',
    { timeout: 30_000 },
    async () => {
      const { env } = setup();
      const proc = startBridgeProcess({ ...env, DRAIN_TIMEOUT_S: '60' });
      const url = String((await proc.waitForLog('bridge listening'))['url']);
      const phone = new SimulatedPhone({
        bridgeUrl: url,
        to: '+15551230001',
        callerAudio: Buffer.concat([silence(5_000), callerClip('caller_hours.ulaw8k.wav'), silence(6_000)]),
        timeScale: 2,
      });
      await phone.dial();
      await new Promise<void>((resolve) => phone.once('media', () => resolve()));

      const signalledAt = Date.now();
      proc.child.kill('SIGTERM');
      let ready = 200;
      while (ready !== 503) {
        ready = (await fetch(`${url}/readyz`)).status;
        expect(Date.now() - signalledAt).toBeLessThan(1_000);
      }
      const flippedMs = Date.now() - signalledAt;
      expect(flippedMs).toBeLessThan(500);

      // A new call while draining gets a polite refusal, not a stream.
      const refused = await fetch(`${url}/twilio/voice`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'CallSid=CA99999999999999999999999999999999&From=%2B15550001111&To=%2B15551230001',
      });
      const twiml = await refused.text();
      expect(twiml).toContain('<Say>');
      expect(twiml).toContain('<Hangup/>');
      expect(twiml).not.toContain('<Stream');

      // The live call goes on: the question asked after SIGTERM is answered with audio.
      const framesAtSignal = phone.stats.framesReceived;
      await until(() => phone.nowMs() > 12_000, 10_000, 'the caller to ask and the answer to play');
      expect(phone.stats.framesReceived - framesAtSignal).toBeGreaterThan(50);
      expect(proc.child.exitCode).toBeNull();

      await phone.hangUp();
      const { code } = await proc.exited;
      expect(code).toBe(0);
      await proc.waitForLog('shutdown complete');
    },
  );
});
