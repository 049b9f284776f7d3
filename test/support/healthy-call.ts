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
 * The line has no greeting; the phone asks a short question (2.2 s) at once and again after
 * every pause, so the emulator's VAD closes a turn every ~5.8 s and answers it with the echo
 * line (~2.8 s of audio). The pause outlasts the answer, so no barge-in cuts audio and every
 * streamed ms should reach the phone.
 */
import type { EmulatorSession, TrafficRecord } from '../../src/emulator/emulator-session.js';
import type { SimulatedPhone } from '../../src/sim/phone.js';
import { callerClip, silence, until, type CallHarness } from './call-harness.js';

/**
 * Caller pause after each question: the echo answer (~2.8 s, starting ~0.6 s after the
 * question) plays out inside it.
 */
const PAUSE_MS = 3_600;

export interface FlowReport {
  /** longest time without an append reaching the model, ms (wall clock) */
  maxAppendGapMs: number;
  /**
   * 99th percentile of the times between appends, ms: a steady slowdown shows here, a single
   * scheduling hiccup does not
   */
  p99AppendGapMs: number;
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
  /**
   * waits for one answered turn in the window if there was none yet, and for in-flight audio
   * to land; then reports the window
   */
  report(): Promise<FlowReport>;
  hangUp(): Promise<void>;
}

/**
 * Dials the healthy call and waits until its caller audio reaches the model. `to` must map
 * to a pcm16 profile without a greeting (a greeting would be barged in on by the first question).
 */
export async function startHealthyCall(
  h: CallHarness,
  options: { to: string; durationMs: number },
): Promise<HealthyCall> {
  const question = callerClip('caller_hours.ulaw8k.wav');
  const rounds = Math.ceil(options.durationMs / (question.length / 8 + PAUSE_MS)) + 1;
  const script = Buffer.concat(Array.from({ length: rounds }, () => [question, silence(PAUSE_MS)]).flat());
  const sessionP = h.emulator.nextSession();
  const phone = h.phone({ to: options.to, callerAudio: script, callerAudioAtMs: 200 });
  await phone.dial();
  const model = await sessionP;

  let windowStart = performance.now();
  let lastAppendAt = windowStart;
  let maxGap = 0;
  let gaps: number[] = [];
  let appendBytesAtWindow = 0;
  let framesSentAtWindow = 0;
  let streamedBytes = 0;
  let framesAtWindow = 0;
  let responses = 0;
  model.on('received', (r: TrafficRecord) => {
    if (r.type !== 'input_audio_buffer.append') return;
    const now = performance.now();
    maxGap = Math.max(maxGap, now - lastAppendAt);
    gaps.push(now - lastAppendAt);
    lastAppendAt = now;
  });
  model.on('sent', (r: TrafficRecord) => {
    // GA and beta spellings (the emulator records the wire type of its dialect)
    if (r.type === 'response.output_audio.delta' || r.type === 'response.audio.delta')
      streamedBytes += r.audioBytes ?? 0;
    if (r.type === 'response.done') responses++;
  });
  // pcm16 24 kHz on the model side: 48 bytes per ms.
  const appendedMs = () => model.inputAudioMs;
  await until(() => appendedMs() > 0, 5_000, "the healthy call's audio to reach the model");

  return {
    phone,
    model,
    startWindow() {
      windowStart = performance.now();
      lastAppendAt = windowStart;
      maxGap = 0;
      gaps = [];
      appendBytesAtWindow = appendedMs();
      framesSentAtWindow = phone.stats.framesSent;
      framesAtWindow = phone.stats.framesReceived;
      streamedBytes = 0;
      responses = 0;
    },
    async report() {
      // A window shorter than one turn (the question, VAD silence, the answer) waits for one.
      await until(() => responses > 0, 8_000, 'the healthy call to have a turn answered');
      // Let the frames in flight land: what the phone sent reaches the model, what the model
      // streamed reaches the phone (bounded waits on counters, not sleeps).
      const sentFrames = phone.stats.framesSent;
      await until(
        () => appendedMs() - appendBytesAtWindow >= (sentFrames - framesSentAtWindow) * 20 - 20,
        2_000,
        'caller audio in flight to reach the model',
      );
      const streamedMs = streamedBytes / 48;
      await until(
        () => (phone.stats.framesReceived - framesAtWindow) * 20 >= streamedMs - 20 * Math.max(1, responses),
        3_000,
        'assistant audio in flight to reach the phone',
      ).catch(() => undefined);
      return {
        maxAppendGapMs: Math.max(maxGap, performance.now() - lastAppendAt),
        p99AppendGapMs: [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length * 0.99)] ?? 0,
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

/**
 * Bounds for "the healthy call did not notice". The audio checks are exact: every frame the
 * phone sent reached the model, everything the model streamed reached the phone. The timing
 * checks are a net for gross stalls only. Everything runs in one process, so any stall of the
 * event loop — the bridge, the fuzzer, GC, or the OS starving the process — shows as a gap
 * between appends, and the bridge's share cannot be told apart. Measured on the two-core
 * runner with the whole suite in parallel: worst gap 25–230 ms and p99 under 60 ms when the
 * machine was otherwise idle; worst gap 1.7 s and p99 400 ms when other jobs loaded it
 * (load average 5). A bridge that blocks for seconds, or slows a call down throughout, fails.
 */
export const MAX_APPEND_GAP_MS = 3_000;
export const MAX_P99_APPEND_GAP_MS = 1_000;

export function expectUndisturbed(flow: FlowReport, context: string): void {
  const where = `${context}: ${JSON.stringify(flow)}`;
  if (flow.maxAppendGapMs >= MAX_APPEND_GAP_MS)
    throw new Error(
      `healthy call: ${Math.round(flow.maxAppendGapMs)} ms without caller audio reaching the model; ${where}`,
    );
  if (flow.p99AppendGapMs >= MAX_P99_APPEND_GAP_MS)
    throw new Error(`healthy call: p99 gap between appends ${Math.round(flow.p99AppendGapMs)} ms; ${where}`);
  // every 20 ms frame the phone sent reached the model (the meter waits for frames in flight)
  if (flow.appendedMs < flow.sentMs - 20 || flow.appendedMs > flow.sentMs + 60)
    throw new Error(`healthy call: ${flow.appendedMs} ms appended for ${flow.sentMs} ms sent; ${where}`);
  if (flow.responses < 1 || flow.assistantStreamedMs < 1_000)
    throw new Error(`healthy call: no answered turn while disturbed; ${where}`);
  // everything the model said reached the phone (a frame of rounding per response)
  if (Math.abs(flow.assistantReceivedMs - flow.assistantStreamedMs) > 20 * (flow.responses + 1))
    throw new Error(
      `healthy call: ${flow.assistantReceivedMs} ms of assistant audio reached the phone ` +
        `for ${flow.assistantStreamedMs} ms streamed; ${where}`,
    );
}
