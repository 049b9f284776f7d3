/**
 * RealtimeLink against the real emulator on 127.0.0.1:0 (no mocked `ws`): open, commands,
 * reconnect after drops and expiry, giving up on fatal codes and refused handshakes, retry
 * exhaustion, large frames, garbage, and keys kept out of logs.
 *
 * The link runs on a VirtualClock: back-off and grace timers only fire when a test advances
 * it, so retries are deterministic and no test waits out a real delay. The emulator keeps the
 * system clock for its own pacing.
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';

import {
  RealtimeEmulator,
  type ListeningEmulator,
  type RealtimeEmulatorOptions,
} from '../../src/emulator/realtime-emulator.js';
import type { RealtimeEndpoint } from '../../src/links/providers.js';
import { RealtimeLink, type RealtimeLinkOptions } from '../../src/links/realtime-link.js';
import type { ModelEvent, ModelLinkEvent, SessionConfig } from '../../src/protocol/realtime.js';
import { VirtualClock } from '../../src/util/clock.js';
import { createLogger, silentLogger } from '../../src/util/logger.js';
import { EventQueue } from '../contract/event-queue.js';

type Ev = ModelEvent | ModelLinkEvent;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function startEmulator(options: RealtimeEmulatorOptions = {}): Promise<ListeningEmulator> {
  const server = await RealtimeEmulator.listen({ port: 0, host: '127.0.0.1', pacing: { speed: 40 }, ...options });
  cleanups.push(() => server.close());
  return server;
}

function endpoint(url: string, dialect: 'ga' | 'beta' = 'ga', headers: Record<string, string> = {}): RealtimeEndpoint {
  return { kind: 'custom', url, headers, dialect, label: `test emulator (${dialect})` };
}

function makeLink(ep: RealtimeEndpoint, extra: Partial<RealtimeLinkOptions> = {}) {
  const clock = new VirtualClock();
  const events = new EventQueue<Ev>();
  const taps: { dir: string; msg: Record<string, unknown> }[] = [];
  const link = new RealtimeLink({
    endpoint: ep,
    clock,
    logger: silentLogger(),
    onEvent: events.push,
    tap: {
      message: (dir, msg) => taps.push({ dir, msg: msg as Record<string, unknown> }),
      appendAudio: (audio) => taps.push({ dir: 'model_in', msg: { appended: audio.byteLength } }),
    },
    random: () => 0.5,
    ...extra,
  });
  cleanups.push(() => link.close());
  return { link, clock, events, taps };
}

const SESSION: SessionConfig = {
  instructions: 'Test.',
  voice: 'alloy',
  audioFormat: 'pcmu',
  turnDetection: {
    type: 'server_vad',
    threshold: 0.5,
    prefixPaddingMs: 300,
    silenceDurationMs: 500,
    createResponse: true,
    interruptResponse: true,
  },
  transcription: null,
  tools: [],
};

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const address = srv.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('RealtimeLink: a normal session', () => {
  it('opens, gets session.created, round-trips session.update (GA) and taps both directions', async () => {
    const server = await startEmulator();
    const { link, events, taps } = makeLink(endpoint(server.url));
    expect(link.send({ type: 'model.commitAudio' })).toBe(false); // not open yet: false, no throw
    link.connect();
    expect(link.state).toBe('connecting');
    await events.next('model.open', (e) => !e.reconnect);
    expect(link.state).toBe('open');
    const created = await events.next('model.sessionCreated');
    expect(created.sessionId).toMatch(/^sess_/);
    expect(created.expiresAtMs).toBeGreaterThan(Date.now() + 59 * 60_000);

    expect(link.send({ type: 'model.updateSession', session: SESSION })).toBe(true);
    const updated = await events.next('model.sessionUpdated');
    expect(updated.session).toEqual(SESSION);

    const session = await server.emulator.nextSession();
    expect(session.dialect).toBe('ga');
    const wire = (await session.waitForReceived('session.update')).wire as {
      session: { type: string; audio: { input: { format: unknown } } };
    };
    expect(wire.session.type).toBe('realtime');
    expect(wire.session.audio.input.format).toEqual({ type: 'audio/pcmu' });
    expect(taps.find((t) => t.dir === 'model_in')?.msg['type']).toBe('session.update');
    expect(taps.find((t) => t.dir === 'model_out')?.msg['type']).toBe('session.created');
  });

  it('speaks beta when the endpoint says so: flat session out, response.audio.delta in', async () => {
    const server = await startEmulator();
    const { link, events } = makeLink(endpoint(server.url, 'beta', { 'OpenAI-Beta': 'realtime=v1' }));
    link.connect();
    await events.next('model.sessionCreated');
    const session = await server.emulator.nextSession();
    expect(session.dialect).toBe('beta');
    link.send({ type: 'model.updateSession', session: { ...SESSION, turnDetection: null } });
    expect((await events.next('model.sessionUpdated')).session?.turnDetection).toBeNull();
    const wire = (await session.waitForReceived('session.update')).wire as { session: Record<string, unknown> };
    expect(wire.session['input_audio_format']).toBe('g711_ulaw');
    expect(wire.session['modalities']).toEqual(['text', 'audio']);

    link.send({ type: 'model.createResponse' });
    const delta = await events.next('model.audioDelta');
    expect(delta.audio.length).toBeGreaterThan(0);
    await events.next('model.responseDone', (e) => e.status === 'completed');
    expect(session.sent.some((r) => r.type === 'response.audio.delta')).toBe(true);
    expect(session.sent.some((r) => r.type === 'response.output_audio.delta')).toBe(false);
  });
});

describe('RealtimeLink: caller audio on the wire', () => {
  it('without a recorder, an append is one TEXT message holding exactly the append JSON', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => new Promise<void>((done) => wss.close(() => done())));
    await once(wss, 'listening');
    const received = new EventQueue<{ type: 'message'; text: string; isBinary: boolean }>();
    wss.on('connection', (ws) =>
      ws.on('message', (data, isBinary) =>
        received.push({ type: 'message', text: (data as Buffer).toString('utf8'), isBinary }),
      ),
    );
    const { port } = wss.address() as { port: number };
    const events = new EventQueue<Ev>();
    // no tap: the path the bridge takes when the call is not recorded
    const link = new RealtimeLink({
      endpoint: endpoint(`ws://127.0.0.1:${port}`),
      clock: new VirtualClock(),
      logger: silentLogger(),
      onEvent: events.push,
    });
    cleanups.push(() => link.close());
    link.connect();
    await events.next('model.open');
    const audio = Buffer.from(Array.from({ length: 1920 }, (_, i) => (i * 31 + 7) & 0xff));
    expect(link.send({ type: 'model.appendAudio', audio })).toBe(true);
    const message = await received.next('message');
    expect(message).toEqual({
      type: 'message',
      text: JSON.stringify({ type: 'input_audio_buffer.append', audio: audio.toString('base64') }),
      isBinary: false,
    });
  });
});

describe('RealtimeLink: reconnect', () => {
  it('reconnects after the emulator drops the socket (abrupt TCP drop), with back-off on the link clock', async () => {
    const server = await startEmulator();
    const { link, clock, events } = makeLink(endpoint(server.url), {
      retry: { baseDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 3 },
    });
    link.connect();
    await events.next('model.sessionCreated');
    const first = await server.emulator.nextSession();
    first.drop();
    const closed = await events.next('model.closed');
    expect(closed).toMatchObject({ code: 1006, willRetry: true, retryInMs: 75 }); // 100 ms ceiling, jitter 0.5 → 75
    expect(link.state).toBe('retrying');
    expect(server.emulator.sessionCount).toBe(1); // nothing happens until the back-off elapses
    clock.advance(closed.retryInMs!);
    await events.next('model.open', (e) => e.reconnect);
    await events.next('model.sessionCreated');
    expect(server.emulator.sessionCount).toBe(2);
    expect(link.send({ type: 'model.clearAudio' })).toBe(true);
    const second = await server.emulator.nextSession();
    await second.waitForReceived('input_audio_buffer.clear');
  });

  it('reconnects after a close frame and after session_expired (error, then close 1001)', async () => {
    const server = await startEmulator();
    const { link, clock, events } = makeLink(endpoint(server.url));
    link.connect();
    await events.next('model.sessionCreated');
    (await server.emulator.nextSession()).drop(1011, 'internal error');
    const c1 = await events.next('model.closed');
    expect(c1).toMatchObject({ code: 1011, willRetry: true });
    clock.advance(c1.retryInMs!);
    await events.next('model.open', (e) => e.reconnect);
    await events.next('model.sessionCreated');

    (await server.emulator.nextSession()).expire();
    const err = await events.next('model.error');
    expect(err).toMatchObject({
      code: 'session_expired',
      message: 'Your session hit the maximum duration of 60 minutes.',
    });
    const c2 = await events.next('model.closed');
    expect(c2).toMatchObject({ code: 1001, willRetry: true });
    // session.created reset the attempt counter, so this is again the first (shortest) back-off
    expect(c2.retryInMs).toBe(c1.retryInMs);
    clock.advance(c2.retryInMs!);
    await events.next('model.open', (e) => e.reconnect);
    expect(events.all('model.failed')).toEqual([]);
  });

  it('reconnect() replaces the socket at once: closed {willRetry, 0 ms} then open {reconnect}', async () => {
    const server = await startEmulator();
    const { link, events } = makeLink(endpoint(server.url));
    link.connect();
    await events.next('model.sessionCreated');
    const first = await server.emulator.nextSession();
    link.reconnect('session near its limit');
    expect(await events.next('model.closed')).toMatchObject({ code: 1000, willRetry: true, retryInMs: 0 });
    await events.next('model.open', (e) => e.reconnect);
    await events.next('model.sessionCreated');
    expect((await first.closed).code).toBe(1000);
    expect(server.emulator.sessionCount).toBe(2);
  });

  it('gives up after maxAttempts when nothing listens, with growing jittered delays', async () => {
    const port = await freePort();
    const { link, clock, events } = makeLink(endpoint(`ws://127.0.0.1:${port}/v1/realtime`), {
      retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 250 },
    });
    link.connect();
    const delays: (number | null)[] = [];
    for (;;) {
      const closed = await events.next('model.closed');
      delays.push(closed.retryInMs);
      if (!closed.willRetry) break;
      clock.advance(closed.retryInMs!);
    }
    expect(delays).toEqual([75, 150, 188, null]); // ceilings 100, 200, 250 (capped) × (0.5 + 0.5·0.5)
    const failed = await events.next('model.failed');
    expect(failed.message).toMatch(/gave up after 3 reconnect attempts; last problem: .*ECONNREFUSED/);
    expect(link.state).toBe('failed');
    expect(link.lastError?.retryable).toBe(false);
    expect(events.all('model.open')).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });
  it('a handshake that never answers times out on the link clock and is retried', async () => {
    // A TCP server that accepts and then says nothing: no HTTP response, no WebSocket.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    const sockets: Socket[] = [];
    silent.on('connection', (s) => sockets.push(s));
    cleanups.push(() => sockets.forEach((s) => s.destroy()));
    const port = (silent.address() as { port: number }).port;
    const { link, clock, events } = makeLink(endpoint(`ws://127.0.0.1:${port}/v1/realtime`), {
      connectTimeoutMs: 3_000,
      retry: { maxAttempts: 1 },
    });
    link.connect();
    await new Promise<void>((resolve) => silent.once('connection', () => resolve()));
    clock.advance(2_999);
    expect(link.state).toBe('connecting');
    clock.advance(1);
    const closed = await events.next('model.closed');
    expect(closed.willRetry).toBe(true);
    clock.advance(closed.retryInMs!);
    await new Promise<void>((resolve) => silent.once('connection', () => resolve()));
    clock.advance(3_000);
    const failed = await events.next('model.failed');
    expect(failed.message).toContain('no handshake answer within 3000 ms');
  });
});

describe('RealtimeLink: fatal failures are not retried', () => {
  it('a fatal error code (invalid_api_key) → error, closed without retry, failed once', async () => {
    const server = await startEmulator();
    const { link, clock, events } = makeLink(endpoint(server.url));
    link.connect();
    await events.next('model.sessionCreated');
    const session = await server.emulator.nextSession();
    session.sendError('invalid_api_key', 'Incorrect API key provided: sk-abc***xyz.');
    expect(await events.next('model.error')).toMatchObject({ code: 'invalid_api_key' });
    expect(await events.next('model.closed')).toMatchObject({ willRetry: false, retryInMs: null });
    const failed = await events.next('model.failed');
    expect(failed.providerCode).toBe('invalid_api_key');
    expect(failed.message).toContain('rejected the API key');
    expect(link.state).toBe('failed');
    expect(link.send({ type: 'model.commitAudio' })).toBe(false);
    clock.advance(60_000); // no retry timer exists to fire
    expect(server.emulator.sessionCount).toBe(1);
    expect(events.all('model.failed')).toHaveLength(1);
  });

  it('a non-fatal error code is forwarded and the session carries on', async () => {
    const server = await startEmulator();
    const { link, events } = makeLink(endpoint(server.url));
    link.connect();
    await events.next('model.sessionCreated');
    link.send({ type: 'model.cancelResponse' });
    expect(await events.next('model.error')).toMatchObject({ code: 'response_cancel_not_active' });
    expect(link.state).toBe('open');
  });

  it(
    'HTTP 401 on the handshake → failed with the provider code, ' + 'never retried, key not in message or logs',
    async () => {
      const server = await startEmulator({ requireApiKey: 'sk-the-right-key-000' });
      const lines: string[] = [];
      const logger = createLogger({ level: 'trace', destination: { write: (line: string) => void lines.push(line) } });
      const key = 'sk-wrong-key-SECRET-123456';
      const { link, clock, events } = makeLink(endpoint(server.url, 'ga', { Authorization: `Bearer ${key}` }), {
        logger,
      });
      link.connect();
      expect(await events.next('model.closed')).toMatchObject({ willRetry: false });
      const failed = await events.next('model.failed');
      expect(failed.providerCode).toBe('invalid_api_key');
      expect(failed.message).toContain('HTTP 401');
      expect(failed.message).not.toContain(key);
      clock.advance(60_000);
      expect(server.emulator.sessionCount).toBe(0);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.join('\n')).not.toContain('SECRET');
    },
  );

  it('the right key passes, and the key never reaches the logs of a whole session', async () => {
    const server = await startEmulator({ requireApiKey: 'sk-the-right-key-SECRET-000' });
    const lines: string[] = [];
    const logger = createLogger({ level: 'trace', destination: { write: (line: string) => void lines.push(line) } });
    const { link, events } = makeLink(
      endpoint(server.url, 'ga', { Authorization: 'Bearer sk-the-right-key-SECRET-000' }),
      { logger },
    );
    link.connect();
    await events.next('model.sessionCreated');
    link.send({ type: 'model.createResponse' });
    await events.next('model.responseDone');
    link.close();
    await events.next('model.closed');
    expect((await server.emulator.nextSession()).handshake.auth).toBe('bearer');
    expect(lines.join('\n')).not.toContain('SECRET');
  });

  it('beta shape disabled (OpenAI after May 2026): error then close 4000 → failed, not retried', async () => {
    const server = await startEmulator({ betaShapeDisabled: true });
    const { link, clock, events } = makeLink(endpoint(server.url, 'beta', { 'OpenAI-Beta': 'realtime=v1' }));
    link.connect();
    expect(await events.next('model.error')).toMatchObject({ code: 'beta_api_shape_disabled' });
    const failed = await events.next('model.failed');
    expect(failed.providerCode).toBe('beta_api_shape_disabled');
    expect(failed.message).toContain('REALTIME_DIALECT=ga');
    clock.advance(60_000);
    expect(events.all('model.open')).toHaveLength(1);
  });
});

describe('RealtimeLink: robustness', () => {
  it('accepts a server event over 1 MiB (2 MiB conversation item with audio) and keeps going', async () => {
    const server = await startEmulator();
    const { link, events } = makeLink(endpoint(server.url));
    link.connect();
    await events.next('model.sessionCreated');
    const session = await server.emulator.nextSession();
    const audio = Buffer.alloc(2 * 1024 * 1024, 0xff).toString('base64');
    session.sendRaw({
      type: 'conversation.item.created',
      event_id: 'event_big',
      previous_item_id: null,
      item: {
        id: 'item_big',
        object: 'realtime.item',
        type: 'message',
        status: 'completed',
        role: 'user',
        content: [{ type: 'input_audio', audio, transcript: 'big' }],
      },
    });
    const added = await events.next('model.itemAdded');
    expect(added.item).toMatchObject({ id: 'item_big', text: 'big' });
    expect(link.state).toBe('open');
  });

  it('drops garbage from the server (logged by reason) and stays open', async () => {
    const server = await startEmulator();
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
    const { link, events } = makeLink(endpoint(server.url), { logger });
    link.connect();
    await events.next('model.sessionCreated');
    const session = await server.emulator.nextSession();
    session.sendRaw('this is not json');
    session.sendRaw({ type: 'response.output_audio.delta', response_id: 'r', delta: 'sk-payload-value' });
    session.sendRaw({ type: 'some.future_event', x: 1 });
    session.sendRaw({ type: 'some.future_event', x: 2 });
    session.sendError('some_code', 'a recoverable error');
    await events.next('model.error', (e) => e.code === 'some_code');
    expect(events.all('model.other').map((e) => e.wireType)).toEqual(['some.future_event', 'some.future_event']);
    const log = lines.join('\n');
    expect(log).toContain('not JSON');
    expect(log).toContain('response.output_audio.delta: item_id');
    expect(log).not.toContain('sk-payload-value');
    expect(log.split('some.future_event').length - 1).toBe(1); // unknown type logged once
    expect(link.state).toBe('open');
  });

  it('close() is final: only the socket close follows, even mid-response', async () => {
    const server = await startEmulator({ pacing: { speed: 2 } });
    const { link, clock, events } = makeLink(endpoint(server.url));
    link.connect();
    await events.next('model.sessionCreated');
    link.send({ type: 'model.createResponse' });
    await events.next('model.audioDelta');
    const before = events.length;
    link.close();
    expect(link.state).toBe('closed');
    const closed = await events.next('model.closed');
    expect(closed.willRetry).toBe(false);
    expect(events.typesSince(before)).toEqual(['model.closed']);
    expect(link.send({ type: 'model.commitAudio' })).toBe(false);
    clock.advance(60_000);
    expect(server.emulator.sessionCount).toBe(1);
    link.connect(); // ignored after close
    expect(link.state).toBe('closed');
  });

  it('an onEvent handler that throws does not break the link', async () => {
    const server = await startEmulator();
    const events = new EventQueue<Ev>();
    const link = new RealtimeLink({
      endpoint: endpoint(server.url),
      clock: new VirtualClock(),
      logger: silentLogger(),
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'model.open') throw new Error('handler bug');
      },
    });
    cleanups.push(() => link.close());
    link.connect();
    await events.next('model.sessionCreated');
    expect(link.state).toBe('open');
  });
});
