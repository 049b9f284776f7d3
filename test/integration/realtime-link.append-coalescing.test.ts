/**
 * Caller audio on the realtime socket is never held for a partner or a timer (issue #14 item
 * 11, issue #15 "every frame on time"): an append is written at once when no write is in
 * flight; what is handed over while one is (between `ws.send` and its callback, which Node
 * never runs synchronously) goes right after it, as one append, in order. A real `ws` server
 * on 127.0.0.1:0 reads every message the link writes.
 */
import { once } from 'node:events';

import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';

import { RealtimeLink } from '../../src/links/realtime-link.js';
import type { ModelEvent, ModelLinkEvent } from '../../src/protocol/realtime.js';
import { VirtualClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { EventQueue } from '../contract/event-queue.js';

type Wire = { type: 'message'; wireType: string; audio: Buffer | null } | { type: 'closed' };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A server that notes every client message (append audio decoded), and the link, open. */
async function openLink(options: { recorded?: boolean } = {}) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => new Promise<void>((done) => wss.close(() => done())));
  await once(wss, 'listening');
  const wire = new EventQueue<Wire>();
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const msg = JSON.parse((data as Buffer).toString('utf8')) as { type: string; audio?: string };
      wire.push({
        type: 'message',
        wireType: msg.type,
        audio: msg.audio === undefined ? null : Buffer.from(msg.audio, 'base64'),
      });
    });
    ws.on('close', () => wire.push({ type: 'closed' }));
  });
  const { port } = wss.address() as { port: number };
  const events = new EventQueue<ModelEvent | ModelLinkEvent>();
  const link = new RealtimeLink({
    endpoint: { kind: 'custom', url: `ws://127.0.0.1:${port}`, headers: {}, dialect: 'ga', label: 'test server' },
    clock: new VirtualClock(),
    logger: silentLogger(),
    onEvent: events.push,
    // a recorded call taps every append; the rule must not change with it
    ...(options.recorded === true ? { tap: { message: () => undefined, appendAudio: () => undefined } } : {}),
  });
  cleanups.push(() => link.close());
  link.connect();
  await events.next('model.open');
  return { link, wire };
}

/** One 20 ms μ-law frame whose bytes all say `n`. */
const frame = (n: number) => Buffer.alloc(160, n);

async function appendsReceived(wire: EventQueue<Wire>, count: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  while (out.length < count) {
    const m = await wire.next('message');
    if (m.wireType === 'input_audio_buffer.append' && m.audio !== null) out.push(m.audio);
  }
  return out;
}

describe.each([
  ['not recorded', false],
  ['recorded (tap)', true],
])('RealtimeLink appends, %s', (_name, recorded) => {
  it('a lone frame is written at once: it reaches the model with nothing sent after it', async () => {
    const { link, wire } = await openLink({ recorded });
    expect(link.send({ type: 'model.appendAudio', audio: frame(1) })).toBe(true);
    expect(await appendsReceived(wire, 1)).toEqual([frame(1)]);
  });

  it('frames that arrive apart (each after the previous one left) are never merged: one append each', async () => {
    const { link, wire } = await openLink({ recorded });
    const got: Buffer[] = [];
    for (let n = 1; n <= 20; n++) {
      link.send({ type: 'model.appendAudio', audio: frame(n) });
      got.push(...(await appendsReceived(wire, 1)));
    }
    expect(got).toEqual(Array.from({ length: 20 }, (_v, i) => frame(i + 1)));
  });

  it('frames handed over while a write is in flight go right after it, as one append, in order', async () => {
    const { link, wire } = await openLink({ recorded });
    // one event-loop turn: the first write's callback cannot have run yet
    for (let n = 1; n <= 4; n++) expect(link.send({ type: 'model.appendAudio', audio: frame(n) })).toBe(true);
    expect(await appendsReceived(wire, 2)).toEqual([frame(1), Buffer.concat([frame(2), frame(3), frame(4)])]);
  });

  it('any other command first writes the audio held before it: the wire keeps the order it was given', async () => {
    const { link, wire } = await openLink({ recorded });
    link.send({ type: 'model.appendAudio', audio: frame(1) });
    link.send({ type: 'model.appendAudio', audio: frame(2) });
    link.send({ type: 'model.commitAudio' });
    link.send({ type: 'model.appendAudio', audio: frame(3) });
    const seen: string[] = [];
    while (seen.length < 4) {
      const m = await wire.next('message');
      seen.push(m.audio === null ? m.wireType : `append ${m.audio[0]}×${m.audio.length / 160}`);
    }
    expect(seen).toEqual(['append 1×1', 'append 2×1', 'input_audio_buffer.commit', 'append 3×1']);
  });

  it('close() writes the audio still held before the socket closes: the last frame reaches the model', async () => {
    const { link, wire } = await openLink({ recorded });
    for (let n = 1; n <= 3; n++) link.send({ type: 'model.appendAudio', audio: frame(n) });
    link.close();
    const appended = Buffer.concat(await appendsReceived(wire, 2));
    await wire.next('closed');
    expect(appended).toEqual(Buffer.concat([frame(1), frame(2), frame(3)]));
  });
});
