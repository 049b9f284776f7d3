/**
 * Fuzz, Twilio side (issue 8): generated media-socket frames (see `arbitraries/twilio.ts`)
 * thrown at a live bridge, one fuzzed call at a time, while a second, healthy call runs.
 *
 * Oracle, frame by frame: a frame either leaves the fuzzed call running, or it is one of the
 * three that end a stream — a valid `stop` (the bridge closes 1000 and records
 * `caller_hung_up` / "stream stopped"), a frame over 256 KiB (1009) or a text frame that is
 * not UTF-8 (1007) — and then the socket closes with exactly that code and the record names
 * it. Any other close, an error-level log line, or a disturbance of the healthy call fails
 * the run. Frames go out as fast as the bridge reads them (a ping/pong after every batch).
 */
import { isUtf8 } from 'node:buffer';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { EmulatorSession } from '../../src/emulator/emulator-session.js';
import { MEDIA_MAX_PAYLOAD_BYTES } from '../../src/http/media-upgrade.js';
import { parseTwilioMessage } from '../../src/protocol/twilio.js';
import { startCallHarness, until } from '../support/call-harness.js';
import { expectUndisturbed, startHealthyCall } from '../support/healthy-call.js';
import { MediaStream } from '../support/media-stream.js';
import { FUZZ_SEED, reproduceHint } from './arbitraries/common.js';
import { twilioFrame, type TwilioFrame } from './arbitraries/twilio.js';
import { callRecord, FUZZ_NUMBERS, FUZZED_NUMBERS, HEALTHY_NUMBER, within, writeStats } from './support.js';

/** Generated frames per run (the model-side fuzzer adds its own; together ≥ 20,000). */
const FRAMES = 14_000;
/** Frames between two ping/pong flushes: small enough that a close is attributed to its batch. */
const BATCH = 64;

type Expected = { ends: false } | { ends: true; code: number; detail: string };

/** What the bridge must do with this exact frame (see the file header). */
function expectedEffect(data: string | Buffer, binary: boolean): Expected {
  if (binary) return { ends: false };
  const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (bytes > MEDIA_MAX_PAYLOAD_BYTES) return { ends: true, code: 1009, detail: 'media socket closed (1009)' };
  if (typeof data !== 'string' && !isUtf8(data))
    return { ends: true, code: 1007, detail: 'media socket closed (1007)' };
  const parsed = parseTwilioMessage(typeof data === 'string' ? data : data.toString('utf8'));
  if (parsed.ok && parsed.event.type === 'twilio.stop') return { ends: true, code: 1000, detail: 'stream stopped' };
  return { ends: false };
}

interface FuzzedCall {
  stream: MediaStream;
  model: EmulatorSession;
  frames: number;
  expectedEnd: (Expected & { ends: true }) | null;
}

describe('fuzz: generated frames on a Twilio media socket', async () => {
  const h = await startCallHarness({ numbersYaml: FUZZ_NUMBERS });

  it(
    `${FRAMES} frames: the process, the healthy call and the records survive; calls end only as documented`,
    { timeout: 60_000 },
    async () => {
      const started = performance.now();
      const frames = fc.sample(twilioFrame, { seed: FUZZ_SEED, numRuns: FRAMES });
      const generatedMs = performance.now() - started;
      const healthy = await startHealthyCall(h, { to: HEALTHY_NUMBER, durationMs: 60_000 });
      healthy.startWindow();

      const calls: FuzzedCall[] = [];
      const dial = async (): Promise<FuzzedCall> => {
        const modelP = h.emulator.nextSession();
        const stream = new MediaStream({ bridgeUrl: h.url, to: FUZZED_NUMBERS[calls.length % 2]! });
        await stream.dial();
        const call: FuzzedCall = { stream, model: await modelP, frames: 0, expectedEnd: null };
        calls.push(call);
        return call;
      };
      let call = await dial();
      let mediaClockMs = 0;
      const recent: TwilioFrame[] = [];
      const context = () =>
        `${reproduceHint('test/fuzz/twilio-socket.test.ts')}; last frames: ${recent.map((f) => f.label).join(', ')}`;

      for (const frame of frames) {
        const data =
          typeof frame.data === 'string'
            ? frame.data
                .replaceAll('@@SID@@', call.stream.streamSid)
                .replaceAll('@@TS@@', () => String((mediaClockMs += 20)))
            : frame.data;
        const expected = expectedEffect(data, frame.binary);
        recent.push(frame);
        if (recent.length > BATCH) recent.shift();
        if (expected.ends) await call.stream.flush(); // everything before it is handled: the close is this frame's
        call.stream.send(data, frame.binary);
        call.frames++;
        if (!expected.ends && call.frames % BATCH !== 0) continue;
        await call.stream.flush();
        if (expected.ends) {
          const closed = await within(call.stream.closed, 5_000);
          expect(closed, `the stream did not close after a '${frame.label}' frame; ${context()}`).not.toBeNull();
          expect(
            closed!.code,
            `close code after a '${frame.label}' frame (reason ${JSON.stringify(closed!.reason)}); ${context()}`,
          ).toBe(expected.code);
          call.expectedEnd = expected;
          mediaClockMs = 0;
          call = await dial();
        } else if (!call.stream.isOpen) {
          const closed = await call.stream.closed;
          expect.fail(
            `the fuzzed call closed unexpectedly: ${closed.code} ${JSON.stringify(closed.reason)}; ${context()}`,
          );
        }
      }
      const fuzzMs = performance.now() - started;

      // The call still open at the end carries on: valid audio reaches its model.
      const before = call.model.inputAudioMs;
      call.stream.sendMedia((mediaClockMs += 20), Buffer.alloc(160, 0x7f));
      await until(
        () => call.model.inputAudioMs > before,
        5_000,
        `the last fuzzed call to keep appending audio; ${context()}`,
      );
      const last = await call.stream.hangUp();
      expect(last.code).toBe(1000);

      // The healthy call never noticed (see expectUndisturbed for the bounds).
      const flow = await healthy.report();
      expectUndisturbed(flow, reproduceHint('test/fuzz/twilio-socket.test.ts'));
      await healthy.hangUp();
      await until(() => h.bridge.activeCalls === 0, 5_000, 'every call to end');

      // Every fuzzed call has its record, ended the way its last frame said; its model socket is closed.
      for (const c of calls) {
        const record = await callRecord(h.url, c.stream.callSid);
        expect(record.endedAt, `record of ${c.stream.callSid}`).not.toBeNull();
        expect(record.outcome).toBe('caller_hung_up');
        expect(record.detail).toBe(c.expectedEnd?.detail ?? 'stream stopped');
        expect((await c.model.closed).code).toBe(1000);
      }
      expect(h.emulator.sessions).toEqual([]);
      // Garbage is logged at warn (sampled); nothing reached error level.
      expect(
        h.logs.lines.filter((l) => l.level >= 50).map((l) => l.msg),
        reproduceHint('test/fuzz/twilio-socket.test.ts'),
      ).toEqual([]);

      const mix: Record<string, number> = {};
      for (const f of frames) mix[f.label] = (mix[f.label] ?? 0) + 1;
      writeStats('twilio', {
        seed: FUZZ_SEED,
        frames: frames.length,
        generatedMs,
        wallMs: performance.now() - started,
        fuzzMs,
        calls: calls.length,
        ends: calls.map((c) => c.expectedEnd?.code ?? null),
        flow,
        mix,
      });
    },
  );
});
