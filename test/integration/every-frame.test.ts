/**
 * Every caller frame reaches the model, the last one before `stop` included (SPEC §8, issue
 * #14 item 11): the frames of a real call's capture go through the real bridge to the
 * emulator, in bursts (so appends queue behind writes in flight and are merged), then the
 * caller hangs up at once. The emulator counts the samples it was given: all of them, in
 * μ-law passthrough and transcoded to PCM16 24 kHz (3 samples per caller sample).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import type { EmulatorSession } from '../../src/emulator/emulator-session.js';
import { parseTwilioCapture } from '../../src/recording/capture.js';
import { startCallHarness, until } from '../support/call-harness.js';
import { MediaStream } from '../support/media-stream.js';

const CAPTURE = path.join(import.meta.dirname, '../fixtures/captures/twilio-inbound-stream1.jsonl');
const PCMU_LINE = '+15551230001';
const PCM16_LINE = '+15551230002';
const NUMBERS = `
defaults:
  instructions: Every-frame test line.
  voice: alloy
numbers:
  "${PCMU_LINE}": { model_audio: pcmu }
  "${PCM16_LINE}": { model_audio: pcm16 }
`;
/** Frames sent back to back before the test waits for the bridge to read them. */
const BURST = 25;

const parsed = parseTwilioCapture(readFileSync(CAPTURE, 'utf8'));
if (!parsed.ok) throw new Error(parsed.reason);
const { frames } = parsed.capture;

describe('every caller frame reaches the model', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS });

  /** Bytes of caller audio the emulator session was given, counted as each append arrives. */
  function countAudio(session: EmulatorSession): () => number {
    let bytes = 0;
    session.on('received', (record: { type: string; audioBytes?: number }) => {
      if (record.type === 'input_audio_buffer.append') bytes += record.audioBytes ?? 0;
    });
    return () => bytes;
  }

  it('the capture has no gaps on its media clock (nothing is filled in: the counts are the frames)', () => {
    expect(frames.length).toBe(616);
    frames.forEach((f, i) => {
      expect(f.payload.length).toBe(160);
      expect(f.timestampMs).toBe(frames[0]!.timestampMs + 20 * i);
    });
  });

  it.each([
    ['pcmu', 616, 1, PCMU_LINE],
    ['pcmu', 615, 1, PCMU_LINE],
    ['pcm16', 616, 6, PCM16_LINE],
    ['pcm16', 615, 6, PCM16_LINE],
  ])(
    '%s: %i frames then stop, the last one included (%i model bytes per caller byte)',
    { timeout: 20_000 },
    async (_mode, count, bytesPerCallerByte, line) => {
      const sessionP = h.emulator.nextSession();
      const stream = new MediaStream({ bridgeUrl: h.url, to: line });
      await stream.dial();
      const session = await sessionP;
      const given = countAudio(session);
      await session.waitForReceived('session.update');
      for (let i = 0; i < count; i++) {
        stream.sendMedia(frames[i]!.timestampMs, frames[i]!.payload);
        if (i % BURST === BURST - 1) await stream.flush();
      }
      await stream.hangUp();
      await session.closed;
      expect(given()).toBe(count * 160 * bytesPerCallerByte);
      // the emulator's input clock agrees: count × 20 ms of audio
      expect(session.inputAudioMs).toBeCloseTo(count * 20, 6);
      await until(() => h.bridge.activeCalls === 0, 5_000, 'the call to end');
    },
  );
});
