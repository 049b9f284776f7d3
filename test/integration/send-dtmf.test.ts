/**
 * `send_dtmf` end to end (issue #15): the model calls the tool, the bridge plays the keys
 * in-band after the words before them, and the simulated phone — playing out in real time
 * and echoing marks like Twilio — hears tones that a Goertzel receiver reads as those keys.
 */
import { describe, expect, it } from 'vitest';

import { callerClip, silence, startCallHarness, until } from '../support/call-harness.js';
import { decodeDtmf } from '../support/dtmf.js';

const NUMBERS = `
defaults:
  instructions: Phone menu test line.
  voice: alloy
  tools: [hang_up, send_dtmf]
  model_audio: pcm16
`;

describe('send_dtmf through the bridge', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS });

  it(
    'the phone hears the keys the model pressed, after its words; the model is left to listen',
    { timeout: 20_000 },
    async () => {
      const sessionP = h.emulator.nextSession();
      const phone = h.phone({
        to: '+15551230001',
        callerAudio: Buffer.concat([silence(300), callerClip('caller_hours.ulaw8k.wav'), silence(6_000)]),
      });
      await phone.dial();
      const session = await sessionP;
      session.queueResponse({
        kind: 'toolCall',
        name: 'send_dtmf',
        arguments: { digits: '1w2#' },
        before: { clip: 'done' },
      });
      const pressed = () => {
        const d = decodeDtmf(phone.playedAudio());
        return d.keys === '1w2#' && d.tones.at(-1)!.durationMs === 100;
      };
      await until(pressed, 15_000, 'the phone to hear 1w2# played out');
      const heard = phone.playedAudio();
      const { tones } = decodeDtmf(heard);
      // the words came first: the first key starts after the clip
      expect(tones[0]!.startMs).toBeGreaterThan(200);
      expect(tones.map((t) => t.durationMs)).toEqual([100, 100, 100]);
      const output = await session.waitForReceived(
        'conversation.item.create',
        (r) => (r.wire['item'] as { type?: string } | undefined)?.type === 'function_call_output',
      );
      expect(JSON.parse((output.wire['item'] as { output: string }).output)).toMatchObject({
        ok: true,
        digits: '1w2#',
      });
      const after = session.received.slice(session.received.indexOf(output));
      expect(after.filter((r) => r.type === 'response.create')).toEqual([]);
      await phone.hangUp();
      await until(() => h.bridge.activeCalls === 0, 5_000, 'the call to end');
    },
  );
});
