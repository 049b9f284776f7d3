/**
 * Whole calls through the real bridge (issue #5 acceptance): the server on 127.0.0.1:0, the
 * emulator as the model, and simulated phones that play audio in real time and echo marks
 * when playout reaches them (and every pending mark on clear, as Twilio does).
 */
import { describe, expect, it } from 'vitest';

import { callerClip, startCallHarness, until } from '../support/call-harness.js';

const NUMBERS = `
defaults:
  instructions: Test line.
  voice: alloy
  greeting: Thanks for calling Example Dental, how can I help?
  turn_detection: { type: server_vad, threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 }
  transcription: { model: whisper-1 }
  tools: [hang_up]
numbers:
  "+15551230002":
    greeting: null
`;

describe('a whole call (greeting, two caller turns, transcripts)', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS });

  it(
    'greeting heard first, both caller turns answered with audio, transcripts of both sides stored',
    { timeout: 20_000 },
    async () => {
      const sessionP = h.emulator.nextSession();
      const phone = h.phone({
        to: '+15551230001',
        callerAudio: callerClip('call_two_questions.ulaw8k.wav'),
        timeScale: 2,
      });
      await phone.dial();
      const model = await sessionP;
      // The greeting is asked for before the caller says anything.
      const greetingCreate = await model.waitForReceived('response.create');
      const firstAppend = model.received.find((r) => r.type === 'input_audio_buffer.append');
      expect(
        firstAppend === undefined || firstAppend.atMs >= model.received.find((r) => r.type === 'session.update')!.atMs,
      ).toBe(true);
      expect(greetingCreate).toBeDefined();
      // Two VAD turns, each answered (echo line), while the caller's 17 s script plays.
      await until(
        () => model.sent.filter((r) => r.type === 'response.done').length >= 3,
        15_000,
        'greeting + two answers',
      );
      await until(() => phone.stats.playedMs > 0 && phone.nowMs() > 16_000, 15_000, 'the caller script to finish');
      await phone.hangUp();
      await until(() => h.bridge.activeCalls === 0, 3_000, 'the call to end');
      // The phone heard the greeting before anything else: audio started before the caller's
      // first word (1 s of silence).
      expect(phone.stats.firstAudioAtMs).not.toBeNull();
      expect(phone.stats.firstAudioAtMs!).toBeLessThan(1_500);
      expect(phone.stats.framesReceived).toBeGreaterThan(200);
      const record = (await (await fetch(`${h.url}/api/calls/${phone.callSid}`)).json()) as {
        outcome: string;
        turns: { role: string; text: string; truncated: boolean }[];
      };
      expect(record.outcome).toBe('caller_hung_up');
      const roles = (record.turns as { role: string }[]).map((t) => t.role);
      expect(roles.filter((r) => r === 'caller').length).toBe(2);
      expect(roles.filter((r) => r === 'assistant').length).toBeGreaterThanOrEqual(3);
      expect(roles[0]).toBe('assistant');
    },
  );
});
