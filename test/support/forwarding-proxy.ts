/**
 * A real reverse proxy on 127.0.0.1:0, the way ngrok, cloudflared or nginx sit in front of a
 * bridge: it forwards every request and WebSocket upgrade to the target and adds forwarding
 * headers (by default `X-Forwarded-For`, as a tunnel does). The bridge sees the proxy's
 * loopback address as its peer — exactly the situation SPEC §8 is about.
 */
import { connect } from 'node:net';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll } from 'vitest';

export interface ForwardingProxy {
  url: string;
  /** requests and upgrades forwarded so far */
  forwarded: number;
}

function headerLines(headers: IncomingHttpHeaders, added: Record<string, string>): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries({ ...headers, ...added })) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  return lines.join('\r\n');
}

/** Starts the proxy in front of `targetUrl`; closed after the test file. */
export async function startForwardingProxy(
  targetUrl: string,
  added: Record<string, string> = { 'x-forwarded-for': '203.0.113.7' },
): Promise<ForwardingProxy> {
  const target = new URL(targetUrl);
  const state: ForwardingProxy = { url: '', forwarded: 0 };
  const tunnels = new Set<{ destroy(): void }>();
  const server: Server = createServer((req, res) => {
    state.forwarded++;
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, ...added },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('upgrade', (req, socket, head) => {
    state.forwarded++;
    const upstream = connect(Number(target.port), target.hostname, () => {
      upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${headerLines(req.headers, added)}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    tunnels.add(upstream).add(socket);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  afterAll(async () => {
    for (const s of tunnels) s.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return state;
}
