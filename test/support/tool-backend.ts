/**
 * A real HTTP tool backend for tests (node:http on port 0): records every request byte for
 * byte and answers as each path's handler says. Handlers can hold a request open (a slow
 * tool) until the test releases it.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll } from 'vitest';

import type { EmulatorSession } from '../../src/emulator/emulator-session.js';

export interface BackendRequest {
  method: string;
  /** path and query */
  url: string;
  headers: IncomingHttpHeaders;
  /** the raw body, as received */
  body: string;
  atMs: number;
}

export type Handler = (req: BackendRequest, res: ServerResponse) => void;

export interface ToolBackend {
  url: string;
  requests: BackendRequest[];
  /** requests to `path` (without the query) */
  to(path: string): BackendRequest[];
  on(path: string, handler: Handler): void;
}

export async function startToolBackend(): Promise<ToolBackend> {
  const requests: BackendRequest[] = [];
  const handlers = new Map<string, Handler>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const record: BackendRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        atMs: Date.now(),
      };
      requests.push(record);
      const handler = handlers.get(record.url.split('?')[0]!);
      if (handler === undefined) res.writeHead(404).end('no such tool');
      else handler(record, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    to: (path) => requests.filter((r) => r.url.split('?')[0] === path),
    on: (path, handler) => handlers.set(path, handler),
  };
}

/** The `function_call_output` the bridge sent the model for one tool call, once it arrives. */
export async function toolOutputOf(session: EmulatorSession, callId: string): Promise<string> {
  const rec = await session.waitForReceived(
    'conversation.item.create',
    (r) => (r.wire['item'] as { call_id?: string } | undefined)?.call_id === callId,
  );
  return (rec.wire['item'] as { output: string }).output;
}
