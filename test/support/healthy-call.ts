/**
 * A healthy call that runs next to a misbehaving one, with a meter on both audio paths, so a
 * robustness test can prove the bad call did not disturb it (SPEC §5: "never disturbs
 * another call"):
 *
 * - caller → model: every `input_audio_buffer.append` that reaches the call's emulator
 *   session is time-stamped; the longest silence between two appends is the worst gap, and
 *   the ms appended are compared with the 20 ms frames the phone sent;
 * - model → caller: the ms of audio the emulator streamed for this call are compared with
 *   the frames that reached the phone.
 *
 * The phone repeats a short question with long pauses, so the emulator's VAD closes a turn
 * every ~6.7 s and answers it with the echo line; the pause outlasts the answer, so no
 * barge-in cuts audio and every streamed ms should reach the phone.
 */
import type { EmulatorSession, TrafficRecord } from '../../src/emulator/emulator-session.js';
import type { SimulatedPhone } from '../../src/sim/phone.js';
import { callerClip, silence, until, type CallHarness } from './call-harness.js';

/** Caller pause after each question: the echo answer (~2.8 s) plays out well inside it. */
const PAUSE_MS = 4_500;

export interface FlowReport {
  /** longest time without an append reaching the model, ms (wall clock) */
  maxAppendGapMs: number;
  /** ms of caller audio the model received */
  appendedMs: number;
  /** ms of caller audio the phone sent */
  sentMs: number;
  /** ms of assistant audio the model streamed for this call */
  assistantStreamedMs: number;
  /** ms of assistant audio that reached the phone */
  assistantReceivedMs: number;
  /** model responses finished for this call */
  responses: number;
}

export interface HealthyCall {
  phone: SimulatedPhone;
  model: EmulatorSession;
  /** starts a measurement window now (appends before it do not count towards the gap) */
  startWindow(): void;
  /** waits for in-flight audio to land, then reports the window */
  report(): Promise<FlowReport>;
  hangUp(): Promise<void>;
}

/**
 * Dials the healthy call and waits until its audio flows both ways (the greeting reached the
 * phone, caller frames reach the model). `to` must map to a pcm16 profile with a greeting.
 */
export async function startHealthyCall(h: CallHarness, options: { to: string; durationMs: number }): Promise<HealthyCall> {
  const question = callerClip('caller_hours.ulaw8k.wav');
  const rounds = Math.ceil(options.durationMs / (question.length / 8 + PAUSE_MS)) + 1;
  const script = Buffer.concat(Array.from({ length: rounds }, () => [question, silence(PAUSE_MS)]).flat());
  const sessionP = h.emulator.nextSession();
  const phone = h.phone({ to: options.to, callerAudio: script, callerAudioAtMs: 1_000 });
  await phone.dial();
  const model = await sessionP;

  let windowStart = performance.now();
  let lastAppendAt = windowStart;
  let maxGap = 0;
  let appendBytesAtWindow = 0;
  let framesSentAtWindow = 0;
  let streamedBytes = 0;
  let framesAtWindow = 0;
  let responses = 0;
  model.on('received', (r: TrafficRecord) => {
    if (r.type !== 'input_audio_buffer.append') return;
    const now = performance.now();
    maxGap = Math.max(maxGap, now - lastAppendAt);
    lastAppendAt = now;
  });
  model.on('sent', (r: TrafficRecord) => {
    if (r.type === 'response.output_audio.delta') streamedBytes += r.audioBytes ?? 0;
    if (r.type === 'response.done') responses++;
  });
  // pcm16 24 kHz on the model side: 48 bytes per ms.
  const appendedMs = () => model.inputAudioMs;
  await until(() => phone.stats.framesReceived > 0 && appendedMs() > 0, 5_000, 'the healthy call to flow both ways');

  return {
    phone,
    model,
    startWindow() {
      windowStart = performance.now();
      lastAppendAt = windowStart;
      maxGap = 0;
      appendBytesAtWindow = appendedMs();
      framesSentAtWindow = phone.stats.framesSent;
      framesAtWindow = phone.stats.framesReceived;
      streamedBytes = 0;
      responses = 0;
    },
    async report() {
      // Let the frames in flight land: what the phone sent reaches the model, what the model
      // streamed reaches the phone (bounded waits on counters, not sleeps).
      const sentFrames = phone.stats.framesSent;
      await until(() => appendedMs() - appendBytesAtWindow >= (sentFrames - framesSentAtWindow) * 20 - 20, 2_000, 'caller audio in flight to reach the model');
      const streamedMs = streamedBytes / 48;
      await until(() => (phone.stats.framesReceived - framesAtWindow) * 20 >= streamedMs - 20 * Math.max(1, responses), 3_000, 'assistant audio in flight to reach the phone').catch(() => undefined);
      return {
        maxAppendGapMs: Math.max(maxGap, performance.now() - lastAppendAt),
        appendedMs: appendedMs() - appendBytesAtWindow,
        sentMs: (phone.stats.framesSent - framesSentAtWindow) * 20,
        assistantStreamedMs: streamedMs,
        assistantReceivedMs: (phone.stats.framesReceived - framesAtWindow) * 20,
        responses,
      };
    },
    async hangUp() {
      await phone.hangUp();
    },
  };
}
