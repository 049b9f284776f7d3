/**
 * The emulator's network timing (`connectDelayMs`): the handshake completes only after the
 * configured delay, as TLS and the upgrade to a remote provider take; 0 keeps loopback speed.
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';

import { RealtimeEmulator } from '../../src/emulator/realtime-emulator.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function openMs(connectDelayMs: number): Promise<number> {
  const server = await RealtimeEmulator.listen({ port: 0, host: '127.0.0.1', connectDelayMs });
  cleanups.push(() => server.close());
  const t0 = performance.now();
  const ws = new WebSocket(server.url);
  cleanups.push(() => ws.terminate());
  await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
  return performance.now() - t0;
}

describe('emulator network timing', () => {
  it('a 250 ms connect delay holds the handshake at least that long', async () => {
    expect(await openMs(250)).toBeGreaterThanOrEqual(250);
  });

  it('a socket closed during the delay is dropped quietly, and the emulator keeps serving', async () => {
    const server = await RealtimeEmulator.listen({ port: 0, host: '127.0.0.1', connectDelayMs: 100 });
    cleanups.push(() => server.close());
    const early = new WebSocket(server.url);
    early.on('error', () => undefined);
    early.terminate();
    const ws = new WebSocket(server.url);
    cleanups.push(() => ws.terminate());
    await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
    expect(server.emulator.sessionCount).toBe(1);
  });
});
