/**
 * Barge-in with real speech (issue #5 acceptance b): the caller asks, the model answers with
 * the 15 s clip, and the caller talks over it with caller_interrupt.ulaw8k.wav. Everything
 * is real: the emulator's VAD hears the interruption in the audio the bridge forwards.
 */
import { describe, expect, it } from 'vitest';

import type { ClearRecord } from '../../src/sim/phone.js';
import { callerClip, silence, startCallHarness, until } from '../support/call-harness.js';

const NUMBERS = `
defaults:
  instructions: Test line.
  voice: alloy
  greeting: null
  turn_detection: { type: server_vad, threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 }
  transcription: { model: whisper-1 }
`;

/** Item position (ms) the caller had heard when the clear arrived: last echoed mark + what played since. */
function heardAtClear(clear: ClearRecord): number {
  const markMs = clear.lastPlayedMark === null ? 0 : Number(clear.lastPlayedMark.split(':').pop());
  return markMs + clear.playedSinceMarkMs;
}

describe('barge-in over a long answer', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS });

  it.each([
    // speed 2: the answer is still streaming when the caller interrupts (cancel + truncate)
    ['mid-answer', 2, ['twilio.clear', 'response.cancel', 'conversation.item.truncate']],
    // speed 8: the whole answer was sent long before; it is only playing (truncate, no cancel)
    ['after the answer finished sending', 8, ['twilio.clear', 'conversation.item.truncate']],
  ] as const)(
    '%s: clear within 50 ms of speech_started, truncate matches what was heard, nothing after clear',
    { timeout: 20_000 },
    async (_name, speed, expected) => {
      const interruptAtMs = 5_600;
      const hours = callerClip('caller_hours.ulaw8k.wav');
      const script = Buffer.concat([
        silence(300),
        hours,
        silence(interruptAtMs - 300 - hours.length / 8),
        callerClip('caller_interrupt.ulaw8k.wav'),
        silence(3_000),
      ]);
      const sessionP = h.emulator.nextSession();
      const phone = h.phone({ to: '+15551239999', callerAudio: script });
      const clears: { record: ClearRecord; atWallMs: number }[] = [];
      phone.on('clear', (record: ClearRecord) => clears.push({ record, atWallMs: Date.now() }));
      const framesAfterClear: number[] = [];
      phone.on('media', () => {
        if (clears.length > 0) framesAfterClear.push(Date.now() - clears[0]!.atWallMs);
      });
      await phone.dial();
      const model = await sessionP;
      model.queueResponse({ kind: 'clip', clip: 'long', pacing: { speed } });

      const truncate = await model.waitForReceived('conversation.item.truncate');
      await until(() => clears.length > 0, 2_000, 'the clear at the phone');
      const speechStarted = model.sent.filter((r) => r.type === 'input_audio_buffer.speech_started').at(-1)!;
      const clear = clears[0]!;

      // 1. clear reaches the phone within 50 ms of the model's speech_started
      const clearLatencyMs = clear.atWallMs - speechStarted.atMs;
      expect(clearLatencyMs).toBeLessThanOrEqual(50);

      // 2. audio_end_ms within −40/+60 ms of what the phone actually played of the item
      const heard = heardAtClear(clear.record);
      const audioEndMs = truncate.wire['audio_end_ms'] as number;
      expect(Number.isInteger(audioEndMs)).toBe(true);
      expect(audioEndMs - heard).toBeGreaterThanOrEqual(-40);
      expect(audioEndMs - heard).toBeLessThanOrEqual(60);

      // 3. the decisions: exactly the expected control messages, in order
      const bargeIn = [
        ...(clears.length > 0 ? [{ type: 'twilio.clear', at: clear.atWallMs }] : []),
        ...model.received
          .filter((r) => r.type === 'response.cancel' || r.type === 'conversation.item.truncate')
          .map((r) => ({ type: r.type, at: r.atMs })),
      ];
      expect(bargeIn.map((b) => b.type)).toEqual(expected);

      // 4. no audio of the cancelled response after the clear (the next answer comes only after
      //    the 4 s interruption has ended), and no truncate error from the model
      await until(() => phone.nowMs() > interruptAtMs + 3_500, 10_000, 'the interruption to end');
      expect(framesAfterClear.filter((ms) => ms < 3_000)).toEqual([]);
      // (response_cancel_not_active is expected noise: the server's own VAD may cancel first)
      expect(
        model.sent.filter(
          (r) => r.type === 'error' && (r.wire['error'] as { code?: string }).code !== 'response_cancel_not_active',
        ),
      ).toEqual([]);
      await model.waitForSent('conversation.item.truncated');

      await phone.hangUp();
      const record = (await (await fetch(`${h.url}/api/calls/${phone.callSid}`)).json()) as {
        bargeIns: number;
        turns: { role: string; truncated?: boolean }[];
      };
      expect(record.bargeIns).toBe(1);
      expect(record.turns.some((t) => t.role === 'assistant' && t.truncated === true)).toBe(true);
    },
  );
});
