/**
 * Post-call analysis (SPEC §10) through real calls: the bridge asks the emulator, on the
 * call's own session after the call ends, for an out-of-band text response; the answer is
 * checked against the profile's JSON Schema, stored on the record and sent as `call.analyzed`;
 * the model socket closes right after, answer or not.
 */
import { describe, expect, it } from 'vitest';

import { EMULATED_SUMMARY } from '../../src/emulator/analysis-answer.js';
import type { EmulatorSession } from '../../src/emulator/emulator-session.js';
import { callerClip, silence, startCallHarness, until, type CallHarness } from '../support/call-harness.js';
import { startToolBackend } from '../support/tool-backend.js';

const backend = await startToolBackend();
backend.on('/events', (_req, res) => res.writeHead(204).end());

const SCHEMA = {
  type: 'object',
  properties: { reason: { type: 'string', enum: ['booking', 'billing', 'other'] }, callback: { type: 'boolean' } },
  required: ['reason', 'callback'],
};
const NUMBERS = `
defaults:
  instructions: Clinic line.
  webhooks: { url: "${backend.url}/events" }
  analysis:
    instructions: Classify the call for the front desk.
    schema: ${JSON.stringify(SCHEMA)}
numbers:
  "+15551230002":
    analysis:
      instructions: Extract the caller's date of birth.
      schema:
        type: object
        properties: { dob: { type: string, pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" } }
        required: [dob]
  "+15551230003":
    analysis: null
`;

interface CallRecordJson {
  analysis: { summary: string; data: unknown; valid: boolean } | null;
  outcome: string;
}

async function record(h: CallHarness, callSid: string): Promise<CallRecordJson> {
  return (await (await fetch(`${h.url}/api/calls/${callSid}`)).json()) as CallRecordJson;
}

/** The record once its analysis is stored (polled: it lands after the call ends). */
async function analysedRecord(h: CallHarness, callSid: string, timeoutMs = 8_000): Promise<CallRecordJson> {
  const started = Date.now();
  for (;;) {
    const r = await record(h, callSid);
    if (r.analysis !== null) return r;
    if (Date.now() - started > timeoutMs) throw new Error(`no analysis on ${callSid} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Dials, hangs up, and returns the call's emulator session and CallSid. */
async function call(h: CallHarness, to: string, plan?: (s: EmulatorSession) => void) {
  const sessionP = h.emulator.nextSession();
  const phone = h.phone({
    to,
    from: '+15557654321',
    callerAudio: Buffer.concat([silence(300), callerClip('caller_hours.ulaw8k.wav'), silence(500)]),
  });
  await phone.dial();
  const session = await sessionP;
  await session.waitForReceived('session.update');
  plan?.(session);
  const hungUpAt = Date.now();
  await phone.hangUp();
  return { session, callSid: phone.callSid, hungUpAt };
}

describe('post-call analysis (GA)', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS });

  it(
    'asks out of band, stores a valid analysis, sends call.analyzed, then closes the socket',
    { timeout: 20_000 },
    async () => {
      const { session, callSid } = await call(h, '+15551230001');
      const request = await session.waitForReceived(
        'response.create',
        (r) => (r.wire['response'] as { conversation?: string } | undefined)?.conversation === 'none',
      );
      const response = request.wire['response'] as Record<string, unknown> & { instructions: string };
      expect(response).toMatchObject({
        conversation: 'none',
        output_modalities: ['text'],
        metadata: { purpose: 'analysis' },
      });
      expect(response).not.toHaveProperty('modalities');
      expect(response.instructions).toContain('Classify the call for the front desk.');
      expect(response.instructions).toContain(`JSON Schema: ${JSON.stringify(SCHEMA)}`);
      await session.closed;
      await until(() => h.bridge.activeCalls === 0, 5_000, 'the call to end');
      const analysed = await analysedRecord(h, callSid);
      expect(analysed.analysis).toEqual({
        summary: EMULATED_SUMMARY,
        data: { reason: 'booking', callback: false },
        valid: true,
      });
      await until(
        () => backend.to('/events').some((r) => r.body.includes('"call.analyzed"') && r.body.includes(callSid)),
        5_000,
        'call.analyzed',
      );
      const sent = backend
        .to('/events')
        .map((r) => JSON.parse(r.body) as { type: string; callSid: string; data: unknown })
        .filter((e) => e.callSid === callSid);
      expect(sent.map((e) => e.type)).toEqual(['call.started', 'call.ended', 'call.analyzed']);
      expect(sent[2]!.data).toEqual(analysed.analysis);
      expect(sent[1]!.data).not.toHaveProperty('analysis');
    },
  );

  it('flags data that does not match the schema as invalid', { timeout: 20_000 }, async () => {
    const { callSid } = await call(h, '+15551230002');
    const analysed = await analysedRecord(h, callSid);
    expect(analysed.analysis).toEqual({ summary: EMULATED_SUMMARY, data: { dob: 'example' }, valid: false });
  });

  it(
    'a model that never answers: the call is finalised and the socket closed within 15 s',
    { timeout: 30_000 },
    async () => {
      const { session, callSid, hungUpAt } = await call(h, '+15551230001', (s) =>
        s.queueResponse({ kind: 'text', text: '{}', pacing: { speed: 1, firstDeltaDelayMs: 120_000 } }),
      );
      await session.waitForReceived(
        'response.create',
        (r) => (r.wire['response'] as { conversation?: string } | undefined)?.conversation === 'none',
      );
      await session.closed;
      const closedAfterMs = Date.now() - hungUpAt;
      expect(closedAfterMs).toBeGreaterThan(14_000);
      expect(closedAfterMs).toBeLessThan(16_500);
      await until(() => h.bridge.activeCalls === 0, 2_000, 'the call to end');
      const r = await record(h, callSid);
      expect(r.outcome).toBe('caller_hung_up');
      expect(r.analysis).toBeNull();
    },
  );

  it('a profile without analysis closes the socket at once', { timeout: 20_000 }, async () => {
    const { session } = await call(h, '+15551230003');
    await session.closed;
    expect(
      session.received.some(
        (r) =>
          r.type === 'response.create' &&
          (r.wire['response'] as { conversation?: string } | undefined)?.conversation === 'none',
      ),
    ).toBe(false);
  });
});

describe('post-call analysis (beta dialect)', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS, env: { REALTIME_DIALECT: 'beta' } });

  it('asks with modalities: ["text"] and stores the answer', { timeout: 20_000 }, async () => {
    const { session, callSid } = await call(h, '+15551230001');
    const request = await session.waitForReceived(
      'response.create',
      (r) => (r.wire['response'] as { conversation?: string } | undefined)?.conversation === 'none',
    );
    const response = request.wire['response'] as Record<string, unknown>;
    expect(response).toMatchObject({ conversation: 'none', modalities: ['text'], metadata: { purpose: 'analysis' } });
    expect(response).not.toHaveProperty('output_modalities');
    await session.closed;
    const analysed = await analysedRecord(h, callSid);
    expect(analysed.analysis).toMatchObject({ valid: true, data: { reason: 'booking', callback: false } });
  });
});
