/**
 * The HTTP server: one express app for requests, and a router for WebSocket upgrades by
 * path (media streams, the emulator). Unknown upgrade paths get 404; an upgrade handler
 * never throws into the server.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

import type { Express } from 'express';

import type { Logger } from '../util/logger.js';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Ends an upgrade request with a plain HTTP status. */
export function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }
  socket.destroy();
}

export function createHttpServer(app: Express, upgrades: ReadonlyMap<string, UpgradeHandler>, logger: Logger): Server {
  const server = createServer(app);
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
  // Twilio keeps media sockets open for the whole call; don't let Node's request timeouts cut anything.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  return server;
}
