/**
 * The HTTP server: one express app for requests, and a router for WebSocket upgrades by
 * path (media streams, the emulator). Unknown upgrade paths get 404; an upgrade handler
 * never throws into the server.
 *
 * Slow clients are cut off (SPEC §8): a request's headers and body must arrive within
 * {@link HttpLimits.requestTimeoutMs}, checked every {@link HttpLimits.checkIntervalMs}
 * (Node enforces `requestTimeout` only when it checks). Upgraded WebSocket sockets leave
 * Node's request bookkeeping at the upgrade, so a call's media stream is never cut by it.
 * At most {@link HttpLimits.maxConnections} sockets are open at once; more are dropped.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

import type { Express } from 'express';

import type { Logger } from '../util/logger.js';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface HttpLimits {
  /** a request's headers and body must have arrived within this (SPEC §8: 30 s) */
  requestTimeoutMs: number;
  /** the headers alone must have arrived within this (at most `requestTimeoutMs`) */
  headersTimeoutMs: number;
  /** how often Node looks for requests past their deadline */
  checkIntervalMs: number;
  /** open sockets at most; a new one beyond it is closed at once */
  maxConnections: number;
}

/**
 * SPEC §8's 30 s for a request. Headers alone get 10 s: Twilio and any honest client send
 * them in one packet. Checked every second, so a slow body is cut within 31 s.
 */
export const DEFAULT_HTTP_LIMITS: Omit<HttpLimits, 'maxConnections'> = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  checkIntervalMs: 1_000,
};

/** Ends an upgrade request with a plain HTTP status. */
export function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }
  socket.destroy();
}

export function createHttpServer(
  app: Express,
  upgrades: ReadonlyMap<string, UpgradeHandler>,
  logger: Logger,
  limits: HttpLimits,
  onDropped?: () => void,
): Server {
  const server = createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      connectionsCheckingInterval: limits.checkIntervalMs,
    },
    app,
  );
  server.maxConnections = limits.maxConnections;
  let dropped = 0;
  server.on('drop', () => {
    onDropped?.();
    // sampled: a flood of connections must not flood the log
    if (++dropped <= 5 || dropped % 1000 === 0)
      logger.warn({ maxConnections: limits.maxConnections, dropped }, 'connection refused: MAX_CONNECTIONS reached');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (err) => logger.debug({ err }, 'upgrade socket error'));
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://placeholder').pathname.replace(/\/+$/, '') || '/';
    } catch {
      refuseUpgrade(socket, 400, 'Bad Request');
      return;
    }
    const handler = upgrades.get(pathname);
    if (handler === undefined) {
      refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    try {
      handler(req, socket, head);
    } catch (err) {
      logger.error({ err, path: pathname }, 'upgrade handler failed');
      refuseUpgrade(socket, 500, 'Internal Server Error');
    }
  });
  return server;
}
