/**
 * The official `openai` package's Realtime WebSocket client — code no one here wrote — holds a
 * text-in / audio-out conversation with the emulator in the GA dialect. If the emulator's
 * wire format drifted from the real API, this client would choke on it.
 */
import net from 'node:net';

import OpenAI from 'openai';
import { OpenAIRealtimeWS as OpenAIRealtimeWSBeta } from 'openai/beta/realtime/ws';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import type { ResponseDoneEvent, SessionCreatedEvent, SessionUpdatedEvent } from 'openai/resources/realtime/realtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { RealtimeEmulator, type ListeningEmulator } from '../../src/emulator/realtime-emulator.js';

let server: ListeningEmulator;

beforeEach(async () => {
  // 20× real time keeps the greeting-length answer well under a second.
  server = await RealtimeEmulator.listen({ port: 0, host: '127.0.0.1', pacing: { speed: 20 } });
});

afterEach(async () => {
  await server.close();
});

/**
 * The SDK always builds a `wss:` URL; the emulator speaks plain `ws:` on loopback, so the
 * client's socket factory is pointed at a plain TCP connection. Everything above TCP is the SDK's.
 */
function plainTcp(port: number) {
  return { createConnection: () => net.connect({ host: '127.0.0.1', port }) };
}

describe('openai npm package → emulator (GA)', () => {
  it('text in, audio out: session.update, user text item, response with audio deltas and a transcript', async () => {
    const client = new OpenAI({ apiKey: 'sk-test-not-a-real-key', baseURL: `http://127.0.0.1:${server.port}/v1` });
    const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime', options: plainTcp(server.port) }, client);
    const errors: string[] = [];
    rt.on('error', (err) => errors.push(err.message));

    const session = await server.emulator.nextSession();
    const seen: string[] = [];
    rt.on('event', (event) => seen.push(event.type));

    const created = await new Promise<SessionCreatedEvent>((resolve) => rt.once('session.created', resolve));
    expect(created.session.type).toBe('realtime');

    rt.send({
      type: 'session.update',
      session: {
        type: 'realtime',
        output_modalities: ['audio'],
        instructions: 'Answer briefly.',
        audio: {
          output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin' },
          input: { turn_detection: null },
        },
      },
    });
    const updated = await new Promise<SessionUpdatedEvent>((resolve) => rt.once('session.updated', resolve));
    expect(updated.session.type).toBe('realtime');
    if (updated.session.type === 'realtime') expect(updated.session.audio?.output?.voice).toBe('marin');

    rt.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello, what do you do?' }] },
    });
    rt.send({ type: 'response.create' });

    let audioBytes = 0;
    let transcript = '';
    rt.on('response.output_audio.delta', (e) => {
      audioBytes += Buffer.from(e.delta, 'base64').length;
    });
    rt.on('response.output_audio_transcript.delta', (e) => {
      transcript += e.delta;
    });
    const done = await new Promise<ResponseDoneEvent>((resolve) => rt.once('response.done', resolve));
    rt.close();

    expect(errors).toEqual([]);
    expect(done.response.status).toBe('completed');
    expect(done.response.usage?.output_tokens).toBeGreaterThan(0);
    expect(audioBytes).toBeGreaterThan(24_000 * 2); // more than a second of PCM16 24 kHz
    expect(transcript).toBe(server.emulator.clipLibrary.render('reply', 'pcm16')!.transcript);
    expect(seen).toContain('conversation.item.added');
    expect(seen.indexOf('response.created')).toBeLessThan(seen.indexOf('response.output_audio.delta'));
    expect(seen.lastIndexOf('response.output_audio.delta')).toBeLessThan(seen.indexOf('response.output_audio.done'));
    // What the SDK sent arrived as GA client events, in order.
    expect(session.received.map((r) => r.type)).toEqual([
      'session.update',
      'conversation.item.create',
      'response.create',
    ]);
  });

  it("the SDK's beta client (OpenAI-Beta header, flat session) gets the beta dialect: μ-law in and out", async () => {
    const client = new OpenAI({ apiKey: 'sk-test-not-a-real-key', baseURL: `http://127.0.0.1:${server.port}/v1` });
    const rt = new OpenAIRealtimeWSBeta({ model: 'gpt-4o-realtime-preview', options: plainTcp(server.port) }, client);
    const errors: string[] = [];
    rt.on('error', (err) => errors.push(err.message));
    const session = await server.emulator.nextSession();
    await new Promise((resolve) => rt.once('session.created', resolve));
    expect(session.dialect).toBe('beta');

    rt.send({
      type: 'session.update',
      session: {
        modalities: ['text', 'audio'],
        voice: 'alloy',
        input_audio_format: 'g711_ulaw',
        output_audio_format: 'g711_ulaw',
      },
    });
    await new Promise((resolve) => rt.once('session.updated', resolve));
    rt.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }] },
    });
    rt.send({ type: 'response.create', response: { modalities: ['text', 'audio'] } });
    let audioBytes = 0;
    rt.on('response.audio.delta', (e) => {
      audioBytes += Buffer.from(e.delta, 'base64').length;
    });
    const done = await new Promise<{ response: { status?: string } }>((resolve) => rt.once('response.done', resolve));
    rt.close();
    expect(errors).toEqual([]);
    expect(done.response.status).toBe('completed');
    expect(audioBytes).toBeGreaterThan(8_000); // more than a second of μ-law 8 kHz
  });
});
