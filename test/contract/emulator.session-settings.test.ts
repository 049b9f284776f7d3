/**
 * The SPEC §11 session settings against the emulator, in both dialects, through the bridge's
 * own encoder: what the call sends is accepted and echoed in `session.updated`, and the values
 * the real API refuses (enums, ranges, fields a dialect lacks) come back as its `error` events.
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';

import { RealtimeEmulator } from '../../src/emulator/realtime-emulator.js';
import { serverEventToGa, type Dialect } from '../../src/protocol/dialects.js';
import type { SessionConfig } from '../../src/protocol/realtime.js';
import { encodeClientEvent } from '../../src/protocol/realtime-codec.js';

import { EventQueue } from './event-queue.js';

type Wire = { type: string; [key: string]: unknown };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function connect(dialect: Dialect) {
  const server = await RealtimeEmulator.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => server.close());
  const ws = new WebSocket(server.url, { headers: dialect === 'beta' ? { 'OpenAI-Beta': 'realtime=v1' } : {} });
  cleanups.push(() => ws.terminate());
  const events = new EventQueue<Wire>();
  // normalised to GA so one expectation serves both dialects
  ws.on('message', (data: Buffer) =>
    events.push(serverEventToGa(JSON.parse(data.toString()) as Wire, dialect) as Wire),
  );
  await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
  await events.next('session.created');
  return { ws, events, send: (wire: object) => ws.send(JSON.stringify(wire)) };
}

const BASE: SessionConfig = {
  instructions: 'Be brief.',
  voice: 'alloy',
  audioFormat: 'pcmu',
  turnDetection: { type: 'semantic_vad', eagerness: 'low', createResponse: true, interruptResponse: true },
  transcription: { model: 'gpt-4o-mini-transcribe', language: 'en', prompt: 'Acme Dental' },
  tools: [],
  settings: { noiseReduction: 'near_field', speed: 1.25, maxOutputTokens: 512 },
};

for (const dialect of ['ga', 'beta'] as const) {
  describe(`session settings × emulator × ${dialect}`, () => {
    it('every setting the dialect carries is accepted and echoed in session.updated', async () => {
      const c = await connect(dialect);
      c.send(encodeClientEvent({ type: 'model.updateSession', session: BASE }, dialect));
      const updated = await c.events.next('session.updated');
      expect(updated['session']).toMatchObject({
        max_output_tokens: 512,
        audio: {
          input: {
            noise_reduction: { type: 'near_field' },
            transcription: { model: 'gpt-4o-mini-transcribe', language: 'en', prompt: 'Acme Dental' },
            turn_detection: { type: 'semantic_vad', eagerness: 'low' },
          },
          output: { speed: 1.25 },
        },
      });
    });

    it('values out of range or outside the enums are refused with the API error codes', async () => {
      const c = await connect(dialect);
      const cases: [NonNullable<SessionConfig['settings']>, string, string][] = [
        [{ speed: 1.6 }, 'decimal_above_max_value', 'session.audio.output.speed'],
        [{ speed: 0.2 }, 'decimal_below_min_value', 'session.audio.output.speed'],
        [{ maxOutputTokens: 4097 }, 'integer_above_max_value', 'session.max_output_tokens'],
        [{ noiseReduction: 'studio' as never }, 'invalid_value', 'session.audio.input.noise_reduction.type'],
      ];
      for (const [settings, code, param] of cases) {
        c.send(encodeClientEvent({ type: 'model.updateSession', session: { ...BASE, settings } }, dialect));
        const error = await c.events.next('error');
        expect(error['error'], JSON.stringify(settings)).toMatchObject({ code, param });
      }
    });
  });
}

describe('session settings × emulator: GA-only fields', () => {
  it('GA: reasoning and truncation are accepted and echoed; a bad effort or ratio is refused', async () => {
    const c = await connect('ga');
    const settings = { reasoningEffort: 'low', truncation: { retentionRatio: 0.8 } } as const;
    c.send(encodeClientEvent({ type: 'model.updateSession', session: { ...BASE, settings } }, 'ga'));
    expect((await c.events.next('session.updated'))['session']).toMatchObject({
      reasoning: { effort: 'low' },
      truncation: { type: 'retention_ratio', retention_ratio: 0.8 },
    });
    c.send({ type: 'session.update', session: { type: 'realtime', reasoning: { effort: 'max' } } });
    expect((await c.events.next('error'))['error']).toMatchObject({
      code: 'invalid_value',
      param: 'session.reasoning.effort',
    });
    c.send({
      type: 'session.update',
      session: { type: 'realtime', truncation: { type: 'retention_ratio', retention_ratio: 2 } },
    });
    expect((await c.events.next('error'))['error']).toMatchObject({ param: 'session.truncation.retention_ratio' });
  });

  it('beta: a session with reasoning is refused as an unknown parameter, as the real beta API does', async () => {
    const c = await connect('beta');
    const settings = { reasoningEffort: 'low' } as const;
    c.send(encodeClientEvent({ type: 'model.updateSession', session: { ...BASE, settings } }, 'beta'));
    expect((await c.events.next('error'))['error']).toMatchObject({
      code: 'unknown_parameter',
      param: 'session.reasoning',
    });
  });
});
