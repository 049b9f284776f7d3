/**
 * MAX_CONCURRENT_CALLS (SPEC §8, issue #14 item 6): a webhook beyond the cap gets the polite
 * refusal (or `<Redirect>` to DRAIN_REDIRECT_URL), opens nothing and is counted as
 * `bridge_webhook_rejections_total{reason="capacity"}`. Calls holding a token whose stream has
 * not started yet count, so a burst of webhooks cannot overshoot; a call that ends frees its
 * place.
 */
import { describe, expect, it } from 'vitest';

import { SimulatedPhone } from '../../src/sim/phone.js';
import { parseStreamTwiml } from '../../src/sim/twiml.js';
import { silence, startCallHarness, until } from '../support/call-harness.js';

let nextCall = 0;
const newCallSid = () => `CA${(++nextCall).toString(16).padStart(32, 'c')}`;

async function webhook(url: string, callSid: string): Promise<string> {
  const res = await fetch(`${url}/twilio/voice`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ CallSid: callSid, From: '+15550001111', To: '+15551230001' }).toString(),
  });
  expect(res.status).toBe(200);
  return res.text();
}

describe('MAX_CONCURRENT_CALLS=2', async () => {
  const h = await startCallHarness({ env: { MAX_CONCURRENT_CALLS: '2' } });

  it(
    'a burst of webhooks is capped before any stream starts; an ended call frees its place',
    { timeout: 10_000 },
    async () => {
      const sids = [newCallSid(), newCallSid(), newCallSid()];
      const answers = await Promise.all(sids.map((sid) => webhook(h.url, sid)));
      const streams = answers.map((xml) => parseStreamTwiml(xml));
      expect(streams.filter((s) => s !== null)).toHaveLength(2);
      const refused = answers[streams.indexOf(null)]!;
      expect(refused).toContain('<Say>Sorry, all our lines are busy right now.');
      expect(refused).toContain('<Hangup/>');
      expect(h.emulator.sessionCount).toBe(0);

      // one of the accepted calls starts and ends: its place is free again
      const i = streams.findIndex((s) => s !== null);
      const first = streams[i]!;
      const phone = new SimulatedPhone({
        bridgeUrl: h.url,
        to: '+15551230001',
        callSid: sids[i]!,
        callerAudio: silence(1_000),
      });
      await phone.connect(first.url, first.parameters);
      await until(() => h.bridge.activeCalls === 1, 3_000, 'the first call to start');
      expect(parseStreamTwiml(await webhook(h.url, newCallSid()))).toBeNull();
      await phone.hangUp();
      await until(() => h.bridge.activeCalls === 0, 3_000, 'the first call to end');
      expect(parseStreamTwiml(await webhook(h.url, newCallSid()))).not.toBeNull();

      const metrics = await (await fetch(`${h.url}/metrics`)).text();
      expect(metrics).toMatch(/bridge_webhook_rejections_total\{reason="capacity"\} 2/);
    },
  );
});

describe('MAX_CONCURRENT_CALLS with DRAIN_REDIRECT_URL', async () => {
  const h = await startCallHarness({
    env: { MAX_CONCURRENT_CALLS: '1', DRAIN_REDIRECT_URL: 'https://bridge-2.example.test/twilio/voice' },
  });
  it('a call beyond the cap is redirected to the other instance', async () => {
    expect(parseStreamTwiml(await webhook(h.url, newCallSid()))).not.toBeNull();
    const redirected = await webhook(h.url, newCallSid());
    expect(redirected).toContain('<Redirect method="POST">https://bridge-2.example.test/twilio/voice</Redirect>');
    expect(redirected).not.toContain('<Stream');
  });
});
