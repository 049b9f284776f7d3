/**
 * The model socket drops mid-call (issue #5 acceptance d): the link reconnects, the session is
 * restored, and audio flows both ways again within 5 s.
 */
import { describe, expect, it } from 'vitest';

import { callerClip, silence, startCallHarness } from '../support/call-harness.js';

const NUMBERS = `
defaults:
  instructions: Recovery test line.
  voice: alloy
  turn_detection: { type: server_vad, threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 }
`;

describe('model socket dropped mid-call', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS });

  it('reconnects, restores the session, and audio flows again within 5 s', { timeout: 15_000 }, async () => {
    const firstP = h.emulator.nextSession();
    const phone = h.phone({
      to: '+15551230001',
      callerAudio: Buffer.concat([silence(2_000), callerClip('caller_hours.ulaw8k.wav'), silence(2_500)]),
    });
    await phone.dial();
    const first = await firstP;
    await first.waitForReceived('session.update');
    await first.waitForReceived('input_audio_buffer.append');

    const secondP = h.emulator.nextSession();
    const droppedAt = Date.now();
    first.drop();
    const second = await secondP;
    const update = await second.waitForReceived('session.update');
    const append = await second.waitForReceived('input_audio_buffer.append');
    const callerAudioBackMs = append.atMs - droppedAt;
    expect(callerAudioBackMs).toBeLessThan(5_000);
    expect((update.wire['session'] as { instructions: string }).instructions).toBe('Recovery test line.');

    // The caller's question, asked after the drop, is answered on the new session and heard.
    const framesBefore = phone.stats.framesReceived;
    await second.waitForSent('response.done');
    const answeredAt = Date.now();
    expect(answeredAt - droppedAt).toBeLessThan(8_000);
    await new Promise<void>((resolve) => phone.once('media', () => resolve()));
    expect(phone.stats.framesReceived).toBeGreaterThan(framesBefore);

    await phone.hangUp();
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/bridge_model_reconnects_total 1/);
  });
});
