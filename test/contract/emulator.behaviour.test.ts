/**
 * Emulator behaviour beyond the shared endpoint contract: its fidelity checks (the errors
 * the real API gives for malformed or beta-in-GA events), pacing and determinism, the echo
 * line, the test hooks, and the three ways to run it. Real sockets on 127.0.0.1:0 with a raw
 * `ws` client, so the bytes on the wire are what is checked.
 */
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';

import { decodeMulaw, encodeMulaw, pcm16ToSamples } from '../../src/emulator/audio-convert.js';
import { readWavSamples } from '../../src/emulator/clips.js';
import {
  RealtimeEmulator,
  type ListeningEmulator,
  type RealtimeEmulatorOptions,
} from '../../src/emulator/realtime-emulator.js';
import { EMULATOR_PATH } from '../../src/links/providers.js';
import { VirtualClock } from '../../src/util/clock.js';

import { EventQueue } from './event-queue.js';

type Wire = { type: string; [key: string]: unknown };

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/audio');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function start(options: RealtimeEmulatorOptions = {}): Promise<ListeningEmulator> {
  const server = await RealtimeEmulator.listen({ port: 0, host: '127.0.0.1', pacing: { speed: 20 }, ...options });
  cleanups.push(() => server.close());
  return server;
}

/** A raw client: what it receives is the wire, parsed only as JSON. */
async function client(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const events = new EventQueue<Wire>();
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('message', (data: Buffer) => events.push(JSON.parse(data.toString()) as Wire));
  cleanups.push(() => {
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await events.next('session.created');
  const send = (event: object | string): void => ws.send(typeof event === 'string' ? event : JSON.stringify(event));
  return { ws, events, send, closed };
}

const GA_PCMU = {
  type: 'realtime',
  audio: {
    input: { format: { type: 'audio/pcmu' }, turn_detection: null },
    output: { format: { type: 'audio/pcmu' } },
  },
};

function caller8k(fromMs: number, toMs: number): Int16Array {
  const { samples } = readWavSamples(path.join(FIXTURES, 'call_two_questions.ulaw8k.wav'));
  return samples.subarray(fromMs * 8, toMs * 8);
}

/** Signal-to-noise ratio of `got` against `want`, dB. */
function snrDb(want: Int16Array, got: Int16Array): number {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < Math.min(want.length, got.length); i++) {
    signal += want[i]! ** 2;
    noise += (want[i]! - got[i]!) ** 2;
  }
  return 10 * Math.log10(signal / Math.max(noise, 1));
}

describe('emulator: errors like the real API, and it never crashes on garbage', () => {
  it('answers malformed input with invalid_request_error events and keeps the session', async () => {
    const server = await start();
    const c = await client(server.url);
    const cases: [object | string, string][] = [
      ['{not json', 'invalid_json'],
      ['[1,2,3]', 'invalid_type'],
      [{ event_id: 'c1' }, 'missing_required_parameter'],
      [{ type: 'response.fly' }, 'invalid_value'],
      [{ type: 'input_audio_buffer.append' }, 'missing_required_parameter'],
      [{ type: 'input_audio_buffer.append', audio: 'not base64!' }, 'invalid_value'],
      [{ type: 'conversation.item.truncate', item_id: 'x', content_index: 0, audio_end_ms: '10' }, 'invalid_type'],
      [{ type: 'conversation.item.create', item: { type: 'message', role: 'robot', content: [] } }, 'invalid_value'],
      // beta field in a GA session.update: exactly the mistake a dialect mix-up makes
      [{ type: 'session.update', session: { type: 'realtime', modalities: ['text', 'audio'] } }, 'unknown_parameter'],
      [{ type: 'session.update', session: { type: 'realtime', voice: 'alloy' } }, 'unknown_parameter'],
      [{ type: 'session.update', session: { instructions: 'no type' } }, 'missing_required_parameter'],
      [
        {
          type: 'session.update',
          session: { type: 'realtime', audio: { input: { format: { type: 'audio/pcm', rate: 16000 } } } },
        },
        'invalid_value',
      ],
      [
        {
          type: 'session.update',
          session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad', threshold: 2 } } } },
        },
        'invalid_value',
      ],
      // assistant text in beta spelling sent to GA
      [
        {
          type: 'conversation.item.create',
          item: { type: 'message', role: 'assistant', content: [{ type: 'text', text: 'hi' }] },
        },
        'invalid_value',
      ],
      [{ type: 'conversation.item.delete', item_id: 'item_nope' }, 'invalid_value'],
      [{ type: 'output_audio_buffer.clear' }, 'invalid_value'],
    ];
    for (const [event, code] of cases) {
      c.send(event);
      const error = await c.events.next('error');
      expect({ sent: event, code: (error['error'] as { code: string }).code }).toEqual({ sent: event, code });
      expect((error['error'] as { type: string }).type).toBe('invalid_request_error');
    }
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await c.events.next('error');
    // still alive and well
    c.send({ type: 'session.update', event_id: 'c_ok', session: { type: 'realtime', instructions: 'ok' } });
    await c.events.next('session.updated');
    // the client's event_id is echoed in error.event_id
    c.send({ type: 'response.cancel', event_id: 'c_cancel' });
    expect((await c.events.next('error'))['error']).toMatchObject({
      code: 'response_cancel_not_active',
      event_id: 'c_cancel',
    });
    // every server event carries an event_id
    expect(c.events.events.every((e) => typeof e['event_id'] === 'string' && e['event_id'] !== '')).toBe(true);
  });

  it('beta rejects GA fields and accepts its own flat session', async () => {
    const server = await start();
    const c = await client(server.url, { 'OpenAI-Beta': 'realtime=v1' });
    c.send({ type: 'session.update', session: { type: 'realtime', audio: {} } });
    expect((await c.events.next('error'))['error']).toMatchObject({ code: 'unknown_parameter', param: 'session.type' });
    c.send({
      type: 'session.update',
      session: {
        modalities: ['text', 'audio'],
        voice: 'verse',
        input_audio_format: 'g711_ulaw',
        output_audio_format: 'g711_ulaw',
        temperature: 0.7,
      },
    });
    const updated = (await c.events.next('session.updated'))['session'] as Record<string, unknown>;
    expect(updated).toMatchObject({
      voice: 'verse',
      input_audio_format: 'g711_ulaw',
      output_audio_format: 'g711_ulaw',
      temperature: 0.7,
      modalities: ['text', 'audio'],
    });
    expect(updated['audio']).toBeUndefined();
    expect(updated['type']).toBeUndefined();
  });

  it('the voice cannot change once assistant audio exists (cannot_update_voice)', async () => {
    const server = await start();
    const c = await client(server.url);
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { output: { voice: 'marin' } } } });
    await c.events.next('session.updated');
    c.send({ type: 'response.create' });
    await c.events.next('response.done');
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { output: { voice: 'cedar' } } } });
    expect((await c.events.next('error'))['error']).toMatchObject({ code: 'cannot_update_voice' });
  });
});

describe('emulator: streaming', () => {
  it('streams faster than real time in uneven deltas, some with odd byte counts (PCM16)', async () => {
    const server = await start({ pacing: { speed: 8 } });
    const c = await client(server.url);
    const t0 = Date.now();
    c.send({ type: 'response.create' });
    await c.events.next('response.done');
    const wallMs = Date.now() - t0;
    const sizes = c.events
      .all('response.output_audio.delta')
      .map((d) => Buffer.from(d['delta'] as string, 'base64').length);
    const totalMs = sizes.reduce((a, b) => a + b, 0) / 48;
    expect(totalMs).toBeGreaterThan(4_000); // the 4.5 s greeting
    expect(wallMs).toBeLessThan(totalMs / 2); // 8× nominal; a loaded machine still stays well under real time
    expect(new Set(sizes).size).toBeGreaterThan(sizes.length / 2);
    expect(sizes.some((n) => n % 2 === 1)).toBe(true);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(241 * 48);
  });

  it('is deterministic for a seed: same traffic, same ids, same delta sizes', async () => {
    const run = async (seed: number) => {
      const server = await start({ seed, pacing: { speed: 40 } });
      const c = await client(server.url);
      c.send({ type: 'response.create' });
      await c.events.next('response.done');
      const session = await server.emulator.nextSession();
      return session.sent.map((r) => `${r.type}:${String(r.wire['event_id'])}:${r.audioBytes ?? ''}`);
    };
    const a = await run(7);
    const b = await run(7);
    const other = await run(8);
    expect(a).toEqual(b);
    expect(other).not.toEqual(a);
  });

  it('text-only responses stream output_text and no audio', async () => {
    const server = await start();
    const c = await client(server.url);
    c.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
    });
    c.send({ type: 'response.create', response: { output_modalities: ['text'] } });
    const done = await c.events.next('response.done');
    const text = c.events
      .all('response.output_text.delta')
      .map((d) => d['delta'])
      .join('');
    expect(c.events.all('response.output_text.done')[0]?.['text']).toBe(text);
    expect(text).toBe(server.emulator.clipLibrary.render('reply', 'pcm16')!.transcript);
    expect(c.events.all('response.output_audio.delta')).toEqual([]);
    expect((done['response'] as { output_modalities: string[] }).output_modalities).toEqual(['text']);
  });

  it('out-of-band responses (conversation: none) add nothing to the conversation', async () => {
    const server = await start();
    const c = await client(server.url);
    c.send({ type: 'response.create', response: { conversation: 'none', metadata: { purpose: 'summary' } } });
    const done = await c.events.next('response.done');
    expect(c.events.all('conversation.item.added')).toEqual([]);
    expect((done['response'] as { metadata: unknown }).metadata).toEqual({ purpose: 'summary' });
    expect((await server.emulator.nextSession()).items).toEqual([]);
  });

  it('a scripted failure ends with status failed and the error code', async () => {
    const server = await start();
    const c = await client(server.url);
    const session = await server.emulator.nextSession();
    session.queueResponse({ kind: 'fail', code: 'server_error' });
    c.send({ type: 'response.create' });
    const done = (await c.events.next('response.done'))['response'] as {
      status: string;
      status_details: { error: { code: string } };
    };
    expect(done.status).toBe('failed');
    expect(done.status_details.error.code).toBe('server_error');
  });
});

describe('emulator: the echo line', () => {
  for (const format of ['pcmu', 'pcm16'] as const) {
    it(`a caller turn is answered with a tone, then the caller's own words (${format} in and out)`, async () => {
      const server = await start({ pacing: { speed: 40 } });
      const c = await client(server.url);
      const fmt = format === 'pcmu' ? { type: 'audio/pcmu' } : { type: 'audio/pcm', rate: 24000 };
      c.send({
        type: 'session.update',
        session: {
          type: 'realtime',
          audio: {
            input: {
              format: fmt,
              transcription: { model: 'whisper-1' },
              turn_detection: { type: 'server_vad', silence_duration_ms: 500, prefix_padding_ms: 300 },
            },
            output: { format: fmt },
          },
        },
      });
      await c.events.next('session.updated');
      const question = caller8k(0, 8000); // silence, then the booking question (1.01–6.48 s)
      const session = await server.emulator.nextSession();
      // pcm16 at 24 kHz by repeating each sample: a crude 3× upsampling, good enough for the VAD
      const bytes =
        format === 'pcmu'
          ? encodeMulaw(question)
          : Buffer.from(new Int16Array(Array.from(question).flatMap((s) => [s, s, s])).buffer);
      for (let i = 0; i < bytes.length; i += 3200)
        c.send({ type: 'input_audio_buffer.append', audio: bytes.subarray(i, i + 3200).toString('base64') });
      const started = await c.events.next('input_audio_buffer.speech_started');
      const transcript = await c.events.next('conversation.item.input_audio_transcription.completed');
      expect(transcript['transcript']).toMatch(/^\[caller speech \d+\.\d s\]$/);
      expect(transcript['item_id']).toBe(started['item_id']);
      await c.events.next('response.done');
      const audio = Buffer.concat(
        c.events.all('response.output_audio.delta').map((d) => Buffer.from(d['delta'] as string, 'base64')),
      );
      const said = c.events
        .all('response.output_audio_transcript.delta')
        .map((d) => d['delta'])
        .join('');
      expect(said).toMatch(/^Echo test: here is what you said, \d+\.\d seconds, played back\.$/);

      const out8k = format === 'pcmu' ? decodeMulaw(audio) : pcm16ToSamples(audio).filter((_, i) => i % 3 === 0);
      // 250 ms tone at 1 kHz first: strong and periodic (period 8 samples at 8 kHz)
      const toneRms = Math.sqrt(out8k.subarray(40, 1960).reduce((s, x) => s + x * x, 0) / 1920);
      expect(toneRms).toBeGreaterThan(4000);
      // then, after 150 ms of silence, the utterance from audio_start_ms on
      const echoed = out8k.subarray(400 * 8);
      const startMs = started['audio_start_ms'] as number;
      const original = question.subarray(startMs * 8, startMs * 8 + echoed.length);
      expect(snrDb(original, echoed)).toBeGreaterThan(format === 'pcmu' ? 30 : 15);
      expect(echoed.length / 8).toBeGreaterThan(5_000);
      expect(session.items.map((i) => i.role)).toEqual(['user', 'assistant']);
    });
  }

  it('manual turns: commit then response.create echoes the committed audio', async () => {
    const server = await start({ pacing: { speed: 40 } });
    const c = await client(server.url);
    c.send({ type: 'session.update', session: GA_PCMU });
    await c.events.next('session.updated');
    const words = caller8k(1000, 3000);
    c.send({ type: 'input_audio_buffer.append', audio: encodeMulaw(words).toString('base64') });
    c.send({ type: 'input_audio_buffer.commit' });
    const committed = await c.events.next('input_audio_buffer.committed');
    const added = await c.events.next('conversation.item.added');
    expect((added['item'] as { id: string }).id).toBe(committed['item_id']);
    c.send({ type: 'response.create' });
    await c.events.next('response.done');
    const audio = Buffer.concat(
      c.events.all('response.output_audio.delta').map((d) => Buffer.from(d['delta'] as string, 'base64')),
    );
    expect(audio.length).toBe((250 + 150 + 2000) * 8);
  });
});

describe('emulator: test hooks', () => {
  it('stall() holds events back in order; resume() releases them', async () => {
    const server = await start();
    const c = await client(server.url);
    const session = await server.emulator.nextSession();
    session.stall();
    const before = c.events.length;
    c.send({ type: 'response.create' });
    await session.nextSent('response.done'); // generated, not delivered
    expect(c.events.length).toBe(before);
    session.resume();
    await c.events.next('response.done');
    expect(c.events.typesSince(before)[0]).toBe('response.created');
    expect(c.events.typesSince(before).length).toBe(session.sent.length - before);
  });

  it('expires on its own at sessionMaxMs (emulator clock): error session_expired, close 1001', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const server = await start({ clock, sessionMaxMs: 30 * 60_000 });
    const c = await client(server.url);
    const created = c.events.all('session.created')[0]!['session'] as { expires_at: number };
    expect(created.expires_at).toBe(Math.floor((Date.UTC(2026, 0, 1) + 30 * 60_000) / 1000));
    clock.advance(30 * 60_000);
    const error = (await c.events.next('error'))['error'] as { code: string; message: string };
    expect(error).toMatchObject({
      code: 'session_expired',
      message: 'Your session hit the maximum duration of 30 minutes.',
    });
    expect((await c.closed).code).toBe(1001);
  });

  it('drop() without a code is an abrupt TCP close; emulator.close() ends sessions with 1001', async () => {
    const server = await start();
    const a = await client(server.url);
    const b = await client(server.url);
    const first = await server.emulator.nextSession();
    const second = await server.emulator.nextSession();
    expect([first.index, second.index]).toEqual([1, 2]);
    first.drop();
    expect((await a.closed).code).toBe(1006);
    await server.emulator.close();
    expect((await b.closed).code).toBe(1001);
    expect(server.emulator.sessions).toEqual([]);
  });

  it('per-session and emulator-wide scripts are used in order, before the defaults', async () => {
    const server = await start({ pacing: { speed: 40 } });
    server.emulator.queueResponse({
      kind: 'toolCall',
      name: 'hang_up',
      arguments: {},
      before: { clip: 'done' },
      callId: 'call_fixed',
    });
    const c = await client(server.url);
    c.send({ type: 'response.create' });
    await c.events.next('response.done');
    const call = c.events.all('response.function_call_arguments.done')[0]!;
    expect(call).toMatchObject({ name: 'hang_up', arguments: '{}', call_id: 'call_fixed', output_index: 1 });
    expect(c.events.all('response.output_item.added').map((e) => (e['item'] as { type: string }).type)).toEqual([
      'message',
      'function_call',
    ]);
    c.send({ type: 'response.create' }); // queue empty → default: greeting
    await c.events.next('response.done');
    const transcripts = c.events.all('response.output_audio_transcript.done').map((e) => e['transcript']);
    expect(transcripts).toEqual([
      server.emulator.clipLibrary.render('done', 'pcm16')!.transcript,
      server.emulator.clipLibrary.render('greeting', 'pcm16')!.transcript,
    ]);
  });
});

describe('emulator: ways to run it', () => {
  it(
    'mounts in an existing HTTP server via handleUpgrade; ' + 'api-version preview selects beta; api-key auth',
    async () => {
      const emulator = new RealtimeEmulator({ pacing: { speed: 40 }, requireApiKey: 'azure-key-123456' });
      const http: Server = createServer();
      http.on('upgrade', (req, socket, head) => {
        if (req.url?.startsWith(EMULATOR_PATH)) emulator.handleUpgrade(req, socket, head);
        else socket.destroy();
      });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      cleanups.push(async () => {
        await emulator.close();
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      });
      const port = (http.address() as { port: number }).port;
      const base = `ws://127.0.0.1:${port}${EMULATOR_PATH}`;

      const beta = await client(`${base}?api-version=2025-04-01-preview&deployment=my-rt`, {
        'api-key': 'azure-key-123456',
      });
      const session = await emulator.nextSession();
      expect(session.dialect).toBe('beta');
      expect(session.handshake.auth).toBe('api-key');
      expect(
        beta.events.all('session.created')[0]!['session'] as { model: string; modalities: string[] },
      ).toMatchObject({
        model: 'my-rt',
        modalities: ['text', 'audio'],
      });

      const ga = await client(`${base}?model=gpt-realtime&api-key=azure-key-123456`);
      const gaSession = await emulator.nextSession();
      expect(gaSession.dialect).toBe('ga');
      expect(gaSession.handshake).toMatchObject({
        auth: 'query',
        url: `${EMULATOR_PATH}?model=gpt-realtime&api-key=%5Bredacted%5D`,
      });
      expect(ga.events.all('session.created')).toHaveLength(1);

      const refused = new WebSocket(base, { headers: { 'api-key': 'wrong' } });
      refused.on('error', () => undefined); // terminate() below reports the aborted handshake as an error
      const status = await new Promise<number>((resolve) =>
        refused.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
      );
      refused.terminate();
      expect(status).toBe(401);
    },
  );

  it('answers plain HTTP with 426 and unknown paths with 404', async () => {
    const server = await start();
    const res = await fetch(`http://127.0.0.1:${server.port}/v1/realtime`);
    expect(res.status).toBe(426);
    await res.text();
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/elsewhere`);
    ws.on('error', () => undefined);
    const status = await new Promise<number>((resolve) =>
      ws.on('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0)),
    );
    ws.terminate();
    expect(status).toBe(404);
  });
});
