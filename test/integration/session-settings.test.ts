/**
 * SPEC §11 settings end to end: a call's model session is opened for the number's own model and
 * configured with the number's settings (the emulator, validating like the real API, answers
 * `session.updated` with them, not an error); `PUT /api/numbers` refuses a bad value naming the
 * field, and a field the dialect cannot carry.
 */
import { describe, expect, it } from 'vitest';

import { startCallHarness, until } from '../support/call-harness.js';
import { startTestBridge } from '../support/bridge.js';

const NUMBERS = `
defaults:
  instructions: Test line.
  voice: alloy
  noise_reduction: near_field
numbers:
  "+15551230001":
    model: gpt-realtime-2
    reasoning_effort: low
    speed: 1.2
    max_output_tokens: 400
    truncation: { retention_ratio: 0.7 }
    turn_detection: { type: semantic_vad, eagerness: high }
    transcription: { model: gpt-4o-mini-transcribe, language: en, prompt: Example Dental }
`;

const put = (url: string, number: string, fields: object) =>
  fetch(`${url}/api/numbers/${encodeURIComponent(number)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(fields),
  });

describe('a call carries its number’s model and settings', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS });

  it('opens the number’s model and the emulator echoes every setting in session.updated', async () => {
    const sessionP = h.emulator.nextSession();
    const phone = h.phone({ to: '+15551230001', callerAudio: Buffer.alloc(8_000, 0xff) });
    await phone.dial();
    const model = await sessionP;
    expect(new URL(model.handshake.url, 'ws://x').searchParams.get('model')).toBe('gpt-realtime-2');
    const updated = await model.waitForSent('session.updated');
    expect(model.sent.some((r) => r.type === 'error')).toBe(false);
    expect(updated.wire['session']).toMatchObject({
      model: 'gpt-realtime-2',
      reasoning: { effort: 'low' },
      max_output_tokens: 400,
      truncation: { type: 'retention_ratio', retention_ratio: 0.7 },
      audio: {
        input: {
          noise_reduction: { type: 'near_field' },
          turn_detection: { type: 'semantic_vad', eagerness: 'high' },
          transcription: { model: 'gpt-4o-mini-transcribe', language: 'en', prompt: 'Example Dental' },
        },
        output: { speed: 1.2 },
      },
    });
    await phone.hangUp();
    await until(() => h.bridge.activeCalls === 0, 3_000, 'the call to end');
  });

  it('PUT with a value out of range answers 400 naming the field and the value; the file is untouched', async () => {
    const res = await put(h.url, '+15551230001', { speed: 3 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(
      /^numbers\.yaml: numbers\."\+15551230001"\.speed: 3 must be at most 1\.5/,
    );
  });
});

describe('beta dialect: fields it cannot carry are configuration errors', async () => {
  const tb = await startTestBridge({ numbersYaml: 'defaults:\n  voice: alloy\n', env: { REALTIME_DIALECT: 'beta' } });

  it('PUT reasoning_effort answers 400 naming the field', async () => {
    const res = await put(tb.url, '+15551230001', { reasoning_effort: 'low' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(
      /numbers\."\+15551230001"\.reasoning_effort: the beta realtime dialect has no place for reasoning_effort/,
    );
  });
});
