/**
 * Integration harness: the real bridge on 127.0.0.1:0 with a scriptable emulator as its
 * model, an optional fake of Twilio's REST API, and simulated phones.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { afterAll } from 'vitest';

import { parseWav } from '../../src/audio/wav.js';
import type { BridgeOptions } from '../../src/app.js';
import { RealtimeEmulator, type RealtimeEmulatorOptions } from '../../src/emulator/realtime-emulator.js';
import { SimulatedPhone, type PhoneOptions } from '../../src/sim/phone.js';
import { startTestBridge, type TestBridge } from './bridge.js';

export const AUDIO_DIR = path.join(import.meta.dirname, '../fixtures/audio');

/** A caller clip as raw μ-law 8 kHz. */
export function callerClip(name: string): Buffer {
  const wav = parseWav(readFileSync(path.join(AUDIO_DIR, name)));
  if (!wav.ok || wav.value.encoding !== 'mulaw' || wav.value.sampleRateHz !== 8000)
    throw new Error(`${name} is not μ-law 8 kHz`);
  return wav.value.data;
}

/** Silence, μ-law. */
export function silence(ms: number): Buffer {
  return Buffer.alloc(ms * 8, 0xff);
}

export interface RestRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  authorization: string | undefined;
}

/** A local stand-in for api.twilio.com: records calls-update requests and answers like Twilio. */
export async function startFakeTwilioRest(
  options: { failTransfer?: boolean } = {},
): Promise<{ url: string; requests: RestRequest[]; next(): Promise<RestRequest> }> {
  const requests: RestRequest[] = [];
  let waiter: ((r: RestRequest) => void) | null = null;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(body));
      const record = {
        method: req.method ?? '',
        path: req.url ?? '',
        params,
        authorization: req.headers.authorization,
      };
      requests.push(record);
      waiter?.(record);
      waiter = null;
      const sid = /Calls\/(CA[0-9a-f]+)\.json/.exec(req.url ?? '')?.[1] ?? 'CA0';
      if (options.failTransfer && params['Twiml'] !== undefined) {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ code: 21220, message: 'Invalid call state', status: 400 }));
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ sid, status: params['Status'] ?? 'in-progress' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    next: () => new Promise((resolve) => (waiter = resolve)),
  };
}

export interface CallHarness extends TestBridge {
  emulator: RealtimeEmulator;
  phone(options: Omit<PhoneOptions, 'bridgeUrl'>): SimulatedPhone;
}

/** Fast emulator pacing for tests: deltas 8× real time, so answers are buffered at Twilio long before they play. */
export const TEST_PACING = { speed: 8, minDeltaMs: 40, maxDeltaMs: 240, firstDeltaDelayMs: 200 };

export async function startCallHarness(
  options: {
    env?: Record<string, string>;
    numbersYaml?: string;
    emulator?: RealtimeEmulatorOptions;
    bridge?: Partial<BridgeOptions>;
  } = {},
): Promise<CallHarness> {
  const emulator = new RealtimeEmulator({ pacing: TEST_PACING, seed: 7, ...options.emulator });
  const tb = await startTestBridge({
    ...(options.env ? { env: options.env } : {}),
    ...(options.numbersYaml !== undefined ? { numbersYaml: options.numbersYaml } : {}),
    bridge: { emulator, ...options.bridge },
  });
  const phones: SimulatedPhone[] = [];
  afterAll(() => {
    for (const p of phones) p.drop();
  });
  return {
    ...tb,
    emulator,
    phone: (o) => {
      const p = new SimulatedPhone({ bridgeUrl: tb.url, ...o });
      phones.push(p);
      return p;
    },
  };
}

/** Resolves when `predicate` holds, checking on every event-loop turn (no fixed sleeps). */
export async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
