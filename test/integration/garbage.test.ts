/**
 * Garbage on one call's media socket while a second call runs (issue #5 acceptance (e),
 * SPEC §5): non-JSON, unknown events, wrong types, bad base64, binary frames, media before
 * `start`, and finally a 2 MB message. The healthy call's audio is metered both ways while
 * the garbage flows; the 2 MB message closes only its own socket (1009) and its call record
 * is still written.
 */
import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { MEDIA_MAX_PAYLOAD_BYTES } from '../../src/http/media-upgrade.js';
import { startCallHarness, until } from '../support/call-harness.js';
import { expectUndisturbed, startHealthyCall } from '../support/healthy-call.js';
import { MediaStream } from '../support/media-stream.js';
import { writeStats } from '../support/run-stats.js';

const NUMBERS = `
defaults:
  instructions: Test line.
  voice: alloy
  greeting: Hello from the healthy line.
  turn_detection: { type: server_vad, threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 }
  transcription: { model: whisper-1 }
  tools: [hang_up]
numbers:
  "+15551230001":
    greeting: null
  "+15551239999":
    greeting: null
`;
const HEALTHY = '+15551230001';
const GARBAGE = '+15551239999';

/** One round of the garbage the issue lists, as (frame, binary) pairs. */
function garbageRound(streamSid: string, i: number): [string | Buffer, boolean][] {
  const media = (m: Record<string, unknown>) =>
    JSON.stringify({
      event: 'media',
      sequenceNumber: String(i),
      streamSid,
      media: { track: 'inbound', chunk: '1', timestamp: String(i * 20), payload: '/////w==', ...m },
    });
  return [
    ['this is not JSON', false],
    ['{"event":"media","media":{', false],
    ['', false],
    ['null', false],
    ['[1,2,3]', false],
    ['"media"', false],
    [JSON.stringify({ event: 'surprise', streamSid }), false],
    [JSON.stringify({ event: 42 }), false],
    [JSON.stringify({}), false],
    [media({ payload: 'abc' }), false], // not a multiple of 4
    [media({ payload: '!!!!' }), false], // not the base64 alphabet
    [media({ payload: 'YWJj\nZGVm' }), false], // a line break inside
    [media({ payload: 12345 }), false],
    [media({ timestamp: i * 20 }), false], // a number where Twilio sends a string
    [media({ timestamp: '-20' }), false],
    [media({ payload: 'A'.repeat(40_000) }), false], // valid base64, far more than 1 s of audio
    [JSON.stringify({ event: 'media', streamSid }), false], // no media object
    [JSON.stringify({ event: 'mark', streamSid, mark: { name: `nobody-sent-this-${i}` } }), false],
    [JSON.stringify({ event: 'dtmf', streamSid, dtmf: { digit: 'hello' } }), false],
    // duplicate start
    [JSON.stringify({ event: 'start', streamSid, start: { callSid: `CA${i}`, accountSid: 'AC0' } }), false],
    [randomBytes(64), true],
    [Buffer.from(media({})), true], // a valid message, but binary
  ];
}

describe('garbage on one call does not disturb another', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS });

  it(
    'the healthy call keeps its audio both ways; ' +
      'the garbage call survives garbage and closes alone (1009) on a 2 MB frame, with its record written',
    { timeout: 30_000 },
    async () => {
      const healthy = await startHealthyCall(h, { to: HEALTHY, durationMs: 20_000 });

      // Media before start on a fresh socket: dropped by the gate; the stream still starts.
      const garbageModelP = h.emulator.nextSession();
      const bad = new MediaStream({ bridgeUrl: h.url, to: GARBAGE });
      await bad.dial({ sendStart: false });
      for (let i = 0; i < 20; i++) bad.sendMedia(i * 20);
      bad.send('not JSON before start');
      bad.sendStart();
      const garbageModel = await garbageModelP;
      await until(() => h.bridge.activeCalls === 2, 2_000, 'the garbage call to start');

      // Garbage flows, as fast as the bridge reads it, until the healthy call has had a
      // whole caller turn answered during it.
      healthy.startWindow();
      let rounds = 0;
      let frames = 0;
      while (!healthy.model.sent.some((r) => r.type === 'response.done') || rounds < 50) {
        for (const [data, binary] of garbageRound(bad.streamSid, rounds)) {
          bad.send(data, binary);
          frames++;
        }
        // Valid audio in between: the garbage call itself keeps working.
        bad.sendMedia(rounds * 20);
        rounds++;
        await bad.flush();
        if (rounds > 5_000) throw new Error('the healthy call never finished a turn during the garbage');
      }
      expect(bad.isOpen).toBe(true);
      expect(h.bridge.activeCalls).toBe(2);
      // The garbage call's own valid frames still reached its model.
      const before = garbageModel.inputAudioMs;
      bad.sendMedia(rounds * 20 + 20, Buffer.alloc(160, 0x7f));
      await until(() => garbageModel.inputAudioMs > before, 2_000, 'the garbage call to keep appending audio');

      // 2 MB in one frame: over the 256 KiB limit, so only this socket is closed (1009).
      bad.send(`{"event":"media","media":{"payload":"${'A'.repeat(2 * 1024 * 1024)}"}}`);
      const closed = await bad.closed;
      expect(MEDIA_MAX_PAYLOAD_BYTES).toBeLessThan(2 * 1024 * 1024);
      expect(closed.code).toBe(1009);
      await until(() => h.bridge.activeCalls === 1, 2_000, 'the garbage call to end');
      // Its model socket went with it.
      expect((await garbageModel.closed).code).toBe(1000);

      const flow = await healthy.report();
      writeStats('garbage', { frames, rounds, flow });
      // The healthy call did not notice: caller audio kept reaching its model frame by frame and
      // whole, and everything the model said reached its phone (bounds in expectUndisturbed).
      expectUndisturbed(flow, 'garbage on the other call');
      expect(healthy.phone.isOpen).toBe(true);

      // The garbage call's record is written, naming the close.
      const record = (await (await fetch(`${h.url}/api/calls/${bad.callSid}`)).json()) as {
        outcome: string;
        detail: string | null;
        endedAt: string | null;
      };
      expect(record.outcome).toBe('caller_hung_up');
      expect(record.detail).toContain('1009');
      expect(record.endedAt).not.toBeNull();
      // Garbage was logged (sampled), never treated as a failure of the call or the process.
      expect(h.logs.lines.some((l) => l.msg === 'twilio message dropped')).toBe(true);
      expect(h.logs.lines.filter((l) => l.level >= 50)).toEqual([]);
      expect(frames).toBeGreaterThan(1_000);

      await healthy.hangUp();
      await until(() => h.bridge.activeCalls === 0, 2_000, 'the healthy call to end');
      const healthyRecord = (await (await fetch(`${h.url}/api/calls/${healthy.phone.callSid}`)).json()) as {
        outcome: string;
      };
      expect(healthyRecord.outcome).toBe('caller_hung_up');
    },
  );

  it(
    'a text frame that is not UTF-8 closes its socket with 1007, ' + 'and the record names that code (not 1006)',
    async () => {
      const bad = new MediaStream({ bridgeUrl: h.url, to: GARBAGE });
      const calls = h.bridge.activeCalls;
      await bad.dial();
      await until(() => h.bridge.activeCalls === calls + 1, 2_000, 'the call to start');
      bad.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), false);
      expect((await bad.closed).code).toBe(1007);
      await until(() => h.bridge.activeCalls === calls, 2_000, 'the call to end');
      const record = (await (await fetch(`${h.url}/api/calls/${bad.callSid}`)).json()) as {
        outcome: string;
        detail: string | null;
      };
      expect(record).toMatchObject({ outcome: 'caller_hung_up', detail: 'media socket closed (1007)' });
    },
  );
});
