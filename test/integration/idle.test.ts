/**
 * Silence handling end to end (SPEC §11 `idle`): the simulated phone hears the greeting and then
 * says nothing. The bridge prompts once the greeting has been heard for `after_ms`, then says
 * the idle goodbye and ends the call with outcome `idle_hang_up`. Real bridge, emulator, phone.
 */
import { describe, expect, it } from 'vitest';

import { silence, startCallHarness, until } from '../support/call-harness.js';

const AFTER_MS = 1_000;

const NUMBERS = `
defaults:
  instructions: Test line.
  voice: alloy
  greeting: Thanks for calling, how can I help?
  idle: { after_ms: ${AFTER_MS}, prompts: ["Are you still there?"], end_after: 1, goodbye: Goodbye for now. }
`;

describe('a caller who goes silent', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS });

  it(
    'is prompted after after_ms, then hears the goodbye, and the call ends as idle_hang_up',
    { timeout: 20_000 },
    async () => {
      const sessionP = h.emulator.nextSession();
      const phone = h.phone({ to: '+15551230001', callerAudio: silence(30_000), timeScale: 2 });
      await phone.dial();
      const model = await sessionP;
      const creates = () =>
        model.received.filter((r) => r.type === 'response.create').map((r) => JSON.stringify(r.wire));
      await until(() => h.bridge.activeCalls === 0, 15_000, 'the call to end');
      expect(creates()).toHaveLength(3);
      expect(creates()[1]).toContain('Are you still there?');
      expect(creates()[2]).toContain('Goodbye for now.');
      // the prompt came no sooner than after_ms after the greeting's last frame was sent
      // (the caller heard it later still: marks come back as playout reaches them)
      const greetingDone = model.sent.find((r) => r.type === 'response.done')!.atMs;
      const prompt = model.received.filter((r) => r.type === 'response.create')[1]!.atMs;
      expect(prompt - greetingDone).toBeGreaterThanOrEqual(AFTER_MS);
      const record = (await (await fetch(`${h.url}/api/calls/${phone.callSid}`)).json()) as { outcome: string };
      expect(record.outcome).toBe('idle_hang_up');
      expect(phone.stats.framesReceived).toBeGreaterThan(0);
    },
  );
});
