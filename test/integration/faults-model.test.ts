/**
 * Fault scenarios on the model side (issue 8): the realtime socket dropped mid-response,
 * `session_expired`, a model that stops sending events, and a fatal provider error. "Not
 * left hanging" is asserted as the concrete outcome each one has: the link reconnects, the
 * conversation is restored and the caller's next turn is answered with audio — or, when the
 * model cannot be had, the caller hears the apology and the call ends cleanly (outcome
 * `error`, both sockets closed). Every test ends with no call and no model session left.
 *
 * The emulator streams 8× real time; the phone runs at 2× (its caller audio and its playout
 * with mark echoes), so a two-turn call takes ~5 s; the emulator's VAD works on the audio
 * clock, so turns are the same as in real time.
 */
import { afterAll, describe, expect, it } from 'vitest';

import type { EmulatorSession } from '../../src/emulator/emulator-session.js';
import type { SimulatedPhone } from '../../src/sim/phone.js';
import { callerClip, silence, startCallHarness, until, type CallHarness } from '../support/call-harness.js';
import { writeStats } from '../support/run-stats.js';

const NUMBERS = `
defaults:
  instructions: Fault line.
  voice: alloy
  greeting: null
  turn_detection: { type: server_vad, threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 }
  transcription: { model: whisper-1 }
  tools: [hang_up]
`;
const LINE = '+15551230001';

/** Observed times, left in a file with FUZZ_STATS (see test/support/run-stats.ts). */
const faultTimes: Record<string, number> = {};
afterAll(() => writeStats('faults-model', faultTimes));

/** The caller's question (2.2 s); its echo answer is ~2.8 s of audio. */
const QUESTION = callerClip('caller_hours.ulaw8k.wav');
/** The phone's speed: audio and playout at 2× real time. */
const SCALE = 2;
/**
 * Question, pause, question (call time; wall time is half): the first turn closes ~2.9 s in,
 * the second at 2.9 s + pause + 2.2 s. The default pause outlasts the echo answer, so the
 * second question never barges in on the first answer.
 */
const twoQuestions = (pauseMs = 3_600) => Buffer.concat([QUESTION, silence(pauseMs), QUESTION, silence(2_000)]);

interface Record_ {
  outcome: string;
  detail: string | null;
  turns: { role: string; text: string }[];
}
const record = async (h: CallHarness, callSid: string) =>
  (await (await fetch(`${h.url}/api/calls/${callSid}`)).json()) as Record_;

/** Resolves once the call's record holds a turn of `role` (polls the admin API). */
async function waitForTurn(h: CallHarness, callSid: string, role: 'caller' | 'assistant'): Promise<void> {
  const started = performance.now();
  while (!(await record(h, callSid)).turns.some((t) => t.role === role)) {
    if (performance.now() - started > 5_000) throw new Error(`no ${role} turn in the record of ${callSid}`);
  }
}

/** Frames the phone has received so far (a counter to compare later). */
const heard = (phone: SimulatedPhone) => phone.stats.framesReceived;

/** Ends the call as a caller would and checks nothing is left over: no call, no model socket. */
async function hangUpClean(h: CallHarness, phone: SimulatedPhone, sessions: EmulatorSession[]): Promise<void> {
  if (phone.isOpen) await phone.hangUp();
  await until(() => h.bridge.activeCalls === 0, 2_000, 'the call to end');
  for (const s of sessions) await s.closed;
  expect(h.emulator.sessions).toEqual([]);
}

/** Resolves when the bridge has written this log line for this call. */
function logOf(h: CallHarness, callSid: string, msg: string): Promise<void> {
  return until(() => h.logs.lines.some((l) => l.msg === msg && l['callSid'] === callSid), 12_000, `log "${msg}"`);
}

describe('model faults (default tuning)', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS });

  it(
    "the model socket is dropped mid-response: the link reconnects, the caller's next turn is answered",
    { timeout: 20_000 },
    async () => {
      const first = h.emulator.nextSession();
      const phone = h.phone({ to: LINE, callerAudio: twoQuestions(), callerAudioAtMs: 200, timeScale: SCALE });
      await phone.dial();
      const s1 = await first;
      await s1.waitForSent('response.output_audio.delta');
      const second = h.emulator.nextSession();
      const droppedAt = performance.now();
      s1.drop(); // TCP destroyed: the bridge sees 1006, no close frame
      const s2 = await second;
      await s2.waitForReceived('session.update');
      const reconnectMs = performance.now() - droppedAt;
      // The audio of the dropped response that reached the bridge was played; the rest is gone.
      // The next turn is heard by the new session and answered with audio that reaches the phone.
      const before = heard(phone);
      await s2.waitForSent('response.done');
      await until(() => heard(phone) - before >= 100, 5_000, 'the answer on the new session to reach the phone');
      expect(reconnectMs).toBeLessThan(2_000); // first retry after 125–250 ms; ~150–260 ms measured
      // The answer after the reconnect is in the record (its transcript is written once done).
      await waitForTurn(h, phone.callSid, 'assistant');
      await hangUpClean(h, phone, [s1, s2]);
      expect((await record(h, phone.callSid)).outcome).toBe('caller_hung_up');
      faultTimes.modelDropReconnectMs = reconnectMs;
    },
  );

  it(
    'session_expired: the link reconnects, restores the conversation as text, and the next turn is answered',
    { timeout: 20_000 },
    async () => {
      const first = h.emulator.nextSession();
      const phone = h.phone({ to: LINE, callerAudio: twoQuestions(), callerAudioAtMs: 200, timeScale: SCALE });
      await phone.dial();
      const s1 = await first;
      // First turn answered and its transcript done: there is a conversation to restore.
      await s1.waitForSent('response.done');
      const second = h.emulator.nextSession();
      const expiredAt = performance.now();
      s1.expire(); // error session_expired, then close 1001
      const s2 = await second;
      await s2.waitForReceived('session.update');
      const reconnectMs = performance.now() - expiredAt;
      const restored = await s2.waitForReceived('conversation.item.create');
      expect(restored.wire['item']).toMatchObject({ type: 'message' });
      expect(s2.items.filter((i) => i.type === 'message').length).toBeGreaterThanOrEqual(2); // caller turn + answer
      const before = heard(phone);
      await s2.waitForSent('response.done');
      await until(() => heard(phone) - before >= 100, 5_000, 'the answer on the renewed session to reach the phone');
      expect(reconnectMs).toBeLessThan(2_000);
      await hangUpClean(h, phone, [s1, s2]);
      expect((await record(h, phone.callSid)).outcome).toBe('caller_hung_up');
      faultTimes.sessionExpiredReconnectMs = reconnectMs;
    },
  );

  it(
    'the model stops sending events mid-response: ' +
      'with the default 8 s watchdog the stall is detected within 10 s and the link reconnects',
    { timeout: 15_000 },
    async () => {
      const first = h.emulator.nextSession();
      const phone = h.phone({ to: LINE, callerAudio: QUESTION, callerAudioAtMs: 200, timeScale: SCALE });
      await phone.dial();
      const s1 = await first;
      await s1.waitForSent('response.output_audio.delta');
      const stalledAt = performance.now();
      s1.stall(); // holds every later event; the socket stays open and answers pings
      const second = h.emulator.nextSession();
      await logOf(h, phone.callSid, 'model stalled; reconnecting');
      const detectedMs = performance.now() - stalledAt;
      const s2 = await second;
      await s2.waitForReceived('session.update');
      expect(detectedMs).toBeGreaterThanOrEqual(7_900);
      expect(detectedMs).toBeLessThan(10_000);
      expect((await s1.closed).code).toBe(1000); // the stalled socket is closed, not left open
      await hangUpClean(h, phone, [s1, s2]);
      faultTimes.stallDetectedDefaultMs = detectedMs;
    },
  );

  it(
    'a fatal provider error mid-call: the caller hears the apology, ' +
      'then the call ends cleanly (outcome error, both sockets closed)',
    { timeout: 15_000 },
    async () => {
      const first = h.emulator.nextSession();
      // 4× playout: the 6 s apology plays in 1.5 s.
      const phone = h.phone({ to: LINE, callerAudio: QUESTION, callerAudioAtMs: 200, timeScale: 4 });
      await phone.dial();
      const s1 = await first;
      await s1.waitForReceived('input_audio_buffer.append');
      const before = heard(phone);
      s1.sendError('invalid_api_key', 'Incorrect API key provided.');
      const closedCode = await phone.closed();
      expect(closedCode).toBe(1000);
      expect(heard(phone) - before).toBeGreaterThanOrEqual(250); // the apology clip, ~6 s of 20 ms frames
      expect((await s1.closed).code).toBe(1000);
      await until(() => h.bridge.activeCalls === 0, 2_000, 'the call to end');
      const r = await record(h, phone.callSid);
      expect(r.outcome).toBe('error');
      expect(r.detail).toContain('invalid_api_key');
      expect(h.emulator.sessions).toEqual([]);
    },
  );
});

describe('model faults (stall watchdog shortened)', async () => {
  // Test seam: 1.5 s instead of 8 s, so a stall, its recovery and the next turn fit in a few
  // seconds; the default is exercised above.
  const STALL_MS = 1_500;
  const h = await startCallHarness({ numbersYaml: NUMBERS, bridge: { tuning: { modelStallTimeoutMs: STALL_MS } } });

  it(
    "the model stops mid-response: the watchdog reconnects and the caller's next turn is answered",
    { timeout: 20_000 },
    async () => {
      const first = h.emulator.nextSession();
      const phone = h.phone({ to: LINE, callerAudio: twoQuestions(), callerAudioAtMs: 200, timeScale: SCALE });
      await phone.dial();
      const s1 = await first;
      await s1.waitForSent('response.output_audio.delta');
      const stalledAt = performance.now();
      s1.stall();
      const second = h.emulator.nextSession();
      await logOf(h, phone.callSid, 'model stalled; reconnecting');
      const detectedMs = performance.now() - stalledAt;
      const s2 = await second;
      await s2.waitForReceived('session.update');
      const before = heard(phone);
      await s2.waitForSent('response.done');
      await until(() => heard(phone) - before >= 100, 5_000, 'the answer after the stall to reach the phone');
      expect(detectedMs).toBeGreaterThanOrEqual(STALL_MS - 100);
      expect(detectedMs).toBeLessThan(STALL_MS + 2_000); // timers run late on a loaded runner
      await hangUpClean(h, phone, [s1, s2]);
      expect((await record(h, phone.callSid)).outcome).toBe('caller_hung_up');
      faultTimes.stallDetectedShortMs = detectedMs;
    },
  );

  it(
    'the model stops with nothing owed (between turns): ' +
      "the silence is probed, the stall found, and the caller's next turn answered",
    { timeout: 20_000 },
    async () => {
      const first = h.emulator.nextSession();
      // A long pause: the stall is found (probe + its timeout) before the second question.
      const phone = h.phone({ to: LINE, callerAudio: twoQuestions(8_000), callerAudioAtMs: 200, timeScale: SCALE });
      await phone.dial();
      const s1 = await first;
      await s1.waitForSent('response.done');
      // Nothing is owed now. Without the probe the bridge never noticed this stall and the
      // caller talked into a dead session for the rest of the call.
      const stalledAt = performance.now();
      s1.stall();
      const second = h.emulator.nextSession();
      await logOf(h, phone.callSid, 'model stalled; reconnecting');
      const detectedMs = performance.now() - stalledAt;
      const s2 = await second;
      await s2.waitForReceived('session.update');
      expect(
        s1.received.some(
          (r) => r.type === 'session.update' && r.atMs >= s1.sent.find((x) => x.type === 'response.done')!.atMs,
        ),
      ).toBe(true); // the probe
      // a watch period to probe, one for its answer; timers run late on a loaded runner
      expect(detectedMs).toBeLessThan(2 * STALL_MS + 2_000);
      const before = heard(phone);
      await s2.waitForSent('response.done');
      await until(() => heard(phone) - before >= 100, 5_000, 'the second turn to be answered');
      await hangUpClean(h, phone, [s1, s2]);
      expect((await record(h, phone.callSid)).outcome).toBe('caller_hung_up');
      faultTimes.idleStallDetectedShortMs = detectedMs;
    },
  );
});
