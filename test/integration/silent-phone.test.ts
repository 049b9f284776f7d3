/**
 * A phone that goes silent or half-dead must not keep a paid model session open (SPEC §8,
 * issue #14 item 5). A started stream that sends nothing for MEDIA_TIMEOUT_S, or leaves a ping
 * unanswered, is ended with outcome `error`, reason `media_timeout`, and its model socket
 * closed; a call that reaches MAX_CALL_DURATION_S is ended cleanly, after the profile's goodbye
 * when it has one. Real sockets: the bridge on port 0, a bare media stream that stops talking
 * (or stops answering pings), the emulator as the model.
 */
import { describe, expect, it } from 'vitest';

import { callerClip, silence, startCallHarness, until } from '../support/call-harness.js';
import { MediaStream } from '../support/media-stream.js';

const PING_INTERVAL_MS = 250;
/** short for the test, long enough that a loaded machine's stalls do not look like silence */
const MEDIA_TIMEOUT_S = 2;

interface ApiCall {
  outcome: string;
  detail: string | null;
  reason: string | null;
}

async function record(url: string, callSid: string): Promise<ApiCall> {
  return (await (await fetch(`${url}/api/calls/${callSid}`)).json()) as ApiCall;
}

/** Sends a 20 ms frame every 20 ms until stopped, like a phone that keeps talking. */
function keepTalking(stream: MediaStream): () => void {
  let t = 0;
  const timer = setInterval(() => stream.sendMedia((t += 20)), 20);
  return () => clearInterval(timer);
}

describe('MEDIA_TIMEOUT_S and ping/pong', async () => {
  const h = await startCallHarness({
    env: { MEDIA_TIMEOUT_S: String(MEDIA_TIMEOUT_S) },
    bridge: { twilioPingIntervalMs: PING_INTERVAL_MS },
  });

  it(
    'a phone that goes silent is ended after MEDIA_TIMEOUT_S, its model socket closed',
    { timeout: 10_000 },
    async () => {
      const sessionP = h.emulator.nextSession();
      const stream = new MediaStream({ bridgeUrl: h.url, to: '+15551230001' });
      await stream.dial();
      const model = await sessionP;
      for (let i = 0; i < 5; i++) stream.sendMedia(i * 20);
      // the bridge reads the last frame after this instant, so the silence it measures starts later
      const silentFrom = performance.now();
      await stream.flush();
      await stream.closed;
      expect(performance.now() - silentFrom).toBeGreaterThanOrEqual(MEDIA_TIMEOUT_S * 1000);
      await model.closed;
      await until(() => h.bridge.activeCalls === 0, 3_000, 'the call to end');
      expect(await record(h.url, stream.callSid)).toMatchObject({
        outcome: 'error',
        detail: 'media_timeout',
        reason: 'media_timeout',
      });
    },
  );

  it('a phone that keeps talking is not ended', { timeout: 15_000 }, async () => {
    const sessionP = h.emulator.nextSession();
    const stream = new MediaStream({ bridgeUrl: h.url, to: '+15551230001' });
    await stream.dial();
    const model = await sessionP;
    const stop = keepTalking(stream);
    const openedAt = performance.now();
    // twice the media timeout and many ping intervals
    await until(() => performance.now() - openedAt > 2 * MEDIA_TIMEOUT_S * 1000 + 500, 10_000, 'the talk');
    stop();
    expect(stream.isOpen).toBe(true);
    expect(model.isOpen).toBe(true);
    await stream.hangUp();
    await until(() => h.bridge.activeCalls === 0, 3_000, 'the call to end');
  });

  it('a socket that stops answering pings is ended like a silent one', { timeout: 10_000 }, async () => {
    const sessionP = h.emulator.nextSession();
    const stream = new MediaStream({ bridgeUrl: h.url, to: '+15551230001', autoPong: false });
    await stream.dial();
    const model = await sessionP;
    const stop = keepTalking(stream);
    await stream.closed;
    stop();
    await model.closed;
    await until(() => h.bridge.activeCalls === 0, 3_000, 'the call to end');
    expect(await record(h.url, stream.callSid)).toMatchObject({ outcome: 'error', reason: 'media_timeout' });
    const line = h.logs.lines.find((l) => l.msg === 'twilio stream limit reached' && l['callSid'] === stream.callSid);
    expect(line?.['missingPong']).toBe(true);
  });
});

const NUMBERS = `defaults:
  instructions: Limits test line.
  voice: alloy
  goodbye: We have reached the time limit for this call. Goodbye!
numbers:
  "+15551230002":
    goodbye: null
`;

describe('MAX_CALL_DURATION_S', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS, env: { MAX_CALL_DURATION_S: '1' } });

  it('ends the call cleanly after the profile goodbye has played', { timeout: 15_000 }, async () => {
    const sessionP = h.emulator.nextSession();
    const phone = h.phone({ to: '+15551230001', callerAudio: silence(15_000), timeScale: 2 });
    await phone.dial();
    const model = await sessionP;
    const create = await model.waitForReceived('response.create');
    expect(JSON.stringify(create.wire)).toContain('We have reached the time limit for this call. Goodbye!');
    expect(await phone.closed()).toBe(1000);
    // every frame of the goodbye reached the phone and had played before the bridge hung up
    expect(phone.stats.framesReceived).toBeGreaterThan(50);
    expect(phone.queuedMs).toBe(0);
    await model.closed;
    await until(() => h.bridge.activeCalls === 0, 3_000, 'the call to end');
    expect(await record(h.url, phone.callSid)).toMatchObject({ outcome: 'error', reason: 'max_duration' });
  });

  it('without a goodbye the call ends at the limit, nothing said', { timeout: 10_000 }, async () => {
    const sessionP = h.emulator.nextSession();
    const phone = h.phone({ to: '+15551230002', callerAudio: callerClip('caller_hours.ulaw8k.wav') });
    await phone.dial();
    const model = await sessionP;
    expect(await phone.closed()).toBe(1000);
    await model.closed;
    expect(model.received.some((r) => r.type === 'response.create')).toBe(false);
    await until(() => h.bridge.activeCalls === 0, 3_000, 'the call to end');
    expect(await record(h.url, phone.callSid)).toMatchObject({ outcome: 'error', reason: 'max_duration' });
  });
});
