/**
 * The Twilio link's outbound queue is bounded (issue #14 item 13). A Twilio socket that stops
 * reading (its peer paused, as a stalled or half-open connection looks from our side) fills the
 * kernel's buffers, then the link's own queue; at the bound the oldest audio is dropped and
 * counted, never a mark (marks are how the session learns what was played) and never `clear`.
 * Real sockets on loopback: a `ws` server holds the link, a `ws` client plays Twilio.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';

import { TwilioLink } from '../../src/links/twilio-link.js';
import { SystemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { until } from '../support/call-harness.js';

const BOUND_BYTES = 64 * 1024;
const FRAMES_PER_BATCH = 1_000;
const MAX_BATCHES = 120;

async function socketPair(): Promise<{ server: WebSocket; client: WebSocket }> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  afterAll(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`, { perMessageDeflate: false });
  await new Promise<void>((resolve) => client.once('open', () => resolve()));
  return { server: await serverSide, client };
}

describe('a Twilio socket that stops reading', () => {
  it(
    'bounds the queue by dropping the oldest audio, keeping every mark and the clear',
    { timeout: 30_000 },
    async () => {
      const { server, client } = await socketPair();
      let droppedReported = 0;
      const link = new TwilioLink({
        ws: server,
        streamSid: 'MZ0001',
        clock: new SystemClock(),
        logger: silentLogger(),
        onEvent: () => undefined,
        maxQueuedBytes: BOUND_BYTES,
        onAudioDropped: () => droppedReported++,
      });
      const received = { media: 0, marks: [] as string[], clears: 0 };
      client.on('message', (data: Buffer) => {
        const msg = JSON.parse(data.toString()) as { event: string; mark?: { name: string } };
        if (msg.event === 'media') received.media++;
        else if (msg.event === 'mark') received.marks.push(msg.mark!.name);
        else if (msg.event === 'clear') received.clears++;
      });
      client.pause();

      const frame = Buffer.alloc(160, 0x7f);
      const marks: string[] = [];
      let frames = 0;
      let maxQueued = 0;
      for (let batch = 0; batch < MAX_BATCHES && !(link.droppedAudio > 0); batch++) {
        for (let i = 0; i < FRAMES_PER_BATCH; i++) {
          link.execute({ type: 'twilio.media', payload: frame });
          frames++;
          if (frames % 3 === 0) {
            const name = `item:${frames * 20}:g1:m${marks.length}`;
            marks.push(name);
            link.execute({ type: 'twilio.mark', name });
          }
          maxQueued = Math.max(maxQueued, link.queuedBytes ?? 0);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(link.droppedAudio, 'nothing was ever dropped: the queue is unbounded').toBeGreaterThan(0);
      // a few more batches while stalled: the queue stays at its bound
      for (let i = 0; i < 3 * FRAMES_PER_BATCH; i++) {
        link.execute({ type: 'twilio.media', payload: frame });
        frames++;
        maxQueued = Math.max(maxQueued, link.queuedBytes);
      }
      const oneMessage = 400;
      expect(maxQueued).toBeLessThanOrEqual(BOUND_BYTES + oneMessage);
      expect(droppedReported).toBe(link.droppedAudio);

      // the peer reads again: every mark arrives, in order, and all audio that was not dropped
      client.resume();
      await until(() => received.marks.length === marks.length, 20_000, 'every mark');
      expect(received.marks).toEqual(marks);
      await until(() => received.media === frames - link.droppedAudio, 20_000, 'the audio that was kept');

      link.execute({ type: 'twilio.clear' });
      await until(() => received.clears === 1, 5_000, 'the clear');
      link.close();
    },
  );
});
