/**
 * The local Realtime API emulator: the model a newcomer without an API key talks to, and the
 * fake model every test uses. It speaks the GA dialect and the beta one, listens to the audio
 * (energy VAD on the input clock), and answers with audio: by default the echo line for a
 * caller turn, recorded clips for greetings and text (see `responder.ts`).
 *
 * Three ways to use it:
 * 1. mounted in the bridge: `emulator.handleUpgrade(req, socket, head)` for upgrades the
 *    bridge routes to `EMULATOR_PATH` (the bridge enforces loopback-only);
 * 2. standalone: `await RealtimeEmulator.listen({ port: 0, host: '127.0.0.1' })` →
 *    `{ url, port, emulator, close() }` (`npm run emulator`);
 * 3. in tests, with hooks: `await emulator.nextSession()`, then per session `drop()`,
 *    `expire()`, `stall()`/`resume()`, `sendError()`, `queueResponse()`, traffic records.
 *
 * Dialect per connection: beta when the handshake has `OpenAI-Beta: realtime=v1` or the URL
 * has an `api-version` containing `preview`; GA otherwise (PROTOCOLS §4).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

import { WebSocketServer, type WebSocket } from 'ws';

import type { Dialect } from '../protocol/dialects.js';
import { SystemClock, type Clock } from '../util/clock.js';
import { silentLogger, type Logger } from '../util/logger.js';

import { ClipLibrary } from './clips.js';
import { EmulatorSession } from './emulator-session.js';
import type { Pacing, Responder, ResponsePlan } from './responder.js';
import { wireErrors } from './wire-errors.js';

/** Everything is optional: `new RealtimeEmulator()` is the standalone default. */
export interface RealtimeEmulatorOptions {
  /** timers for pacing and session expiry; the system clock by default */
  clock?: Clock;
  logger?: Logger;
  /**
   * Streaming pacing. Defaults: 4× real time (the real API runs well ahead of playback),
   * deltas of 40–240 ms of audio, 300 ms (model time) before the first output.
   */
  pacing?: Pacing;
  /** seed of delta sizes and ids; the same seed and input give the same traffic */
  seed?: number;
  /** maximum session length, after which `session_expired` is sent (GA: 60 min) */
  sessionMaxMs?: number;
  /** model reported when the URL names none */
  model?: string;
  /** when set, the handshake must carry this key (`Authorization: Bearer`, `api-key` header or query), else HTTP 401 */
  requireApiKey?: string;
  /** emulate OpenAI after May 2026: beta handshakes get `beta_api_shape_disabled` and close 4000 */
  betaShapeDisabled?: boolean;
  /** decides responses the queues do not cover (undefined → the defaults) */
  responder?: Responder;
  /** speech clips; the shipped assets by default */
  clips?: ClipLibrary;
  /** largest client message accepted (default 16 MiB: appends may be up to 15 MiB) */
  maxPayloadBytes?: number;
  /**
   * Network timing: how long a handshake takes before the socket opens, as TLS and the upgrade
   * to a remote provider do (~300 ms); 0 (loopback) by default. `npm run bench -- first-word`
   * uses it to show what warm start saves.
   */
  connectDelayMs?: number;
}

/** A standalone emulator listening on a port. */
export interface ListeningEmulator {
  /** `ws://host:port/v1/realtime` (any path ending in `/realtime` is accepted) */
  url: string;
  port: number;
  emulator: RealtimeEmulator;
  close(): Promise<void>;
}

/** Default pacing; see {@link RealtimeEmulatorOptions.pacing}. */
export const DEFAULT_PACING: Required<Pacing> = { speed: 4, minDeltaMs: 40, maxDeltaMs: 240, firstDeltaDelayMs: 300 };
const DEFAULT_SESSION_MAX_MS = 60 * 60_000;
/** The API accepts appends up to 15 MiB (PROTOCOLS §6.8); a little headroom for the JSON around it. */
const DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

/** How the handshake selects the dialect (PROTOCOLS §4, §5.3). */
export function handshakeDialect(req: IncomingMessage): Dialect {
  const beta = req.headers['openai-beta'];
  const betaHeader = (Array.isArray(beta) ? beta.join(',') : (beta ?? '')).includes('realtime=v1');
  const url = new URL(req.url ?? '/', 'http://emulator');
  const apiVersion = url.searchParams.get('api-version');
  return betaHeader || (apiVersion !== null && /preview/i.test(apiVersion)) ? 'beta' : 'ga';
}

function presentedKey(req: IncomingMessage): { key: string | null; scheme: 'bearer' | 'api-key' | 'query' | null } {
  const auth = req.headers['authorization'];
  if (typeof auth === 'string' && /^Bearer /i.test(auth)) return { key: auth.slice(7).trim(), scheme: 'bearer' };
  const header = req.headers['api-key'];
  if (typeof header === 'string') return { key: header, scheme: 'api-key' };
  const query = new URL(req.url ?? '/', 'http://emulator').searchParams.get('api-key');
  if (query !== null) return { key: query, scheme: 'query' };
  return { key: null, scheme: null };
}

/** The request URL with any `api-key` query value hidden. */
function safeUrl(req: IncomingMessage): string {
  const url = new URL(req.url ?? '/', 'http://emulator');
  if (url.searchParams.has('api-key')) url.searchParams.set('api-key', '[redacted]');
  return `${url.pathname}${url.search}`;
}

/** The emulator: one per bridge or test; any number of concurrent sessions. */
export class RealtimeEmulator {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly options: RealtimeEmulatorOptions;
  private readonly pacing: Required<Pacing>;
  private readonly clips: ClipLibrary;
  private readonly wss: WebSocketServer;
  private readonly live = new Set<EmulatorSession>();
  private readonly unclaimed: EmulatorSession[] = [];
  private readonly claimers: ((session: EmulatorSession) => void)[] = [];
  private readonly planQueue: ResponsePlan[] = [];
  private count = 0;

  constructor(options: RealtimeEmulatorOptions = {}) {
    this.options = options;
    this.clock = options.clock ?? new SystemClock();
    this.logger = options.logger ?? silentLogger();
    this.pacing = { ...DEFAULT_PACING, ...options.pacing };
    this.clips = options.clips ?? new ClipLibrary();
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    });
  }

  /** Sessions whose socket is open, in connection order. */
  get sessions(): EmulatorSession[] {
    return [...this.live];
  }

  /** How many sessions have connected so far. */
  get sessionCount(): number {
    return this.count;
  }

  /** The clip library (tests may register short clips). */
  get clipLibrary(): ClipLibrary {
    return this.clips;
  }

  /**
   * The next session not yet handed out: one that connected earlier and was not claimed, or
   * the next to connect. Each session is handed out once.
   */
  nextSession(): Promise<EmulatorSession> {
    const ready = this.unclaimed.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => this.claimers.push(resolve));
  }

  /** The next responses of whichever session responds next follow these plans (after that session's own queue). */
  queueResponse(...plans: ResponsePlan[]): void {
    this.planQueue.push(...plans);
  }

  /**
   * Takes over an HTTP upgrade (the bridge routes `EMULATOR_PATH` here). Never throws; a
   * refused handshake gets an HTTP error response. Bound, so it can be passed as a handler.
   */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    try {
      const required = this.options.requireApiKey;
      const { key, scheme } = presentedKey(req);
      if (required !== undefined && key !== required) {
        const body = JSON.stringify({ error: wireErrors.invalidApiKey() });
        socket.end(
          'HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n' +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
        this.logger.debug({ url: safeUrl(req) }, 'emulator refused a handshake without the right key');
        return;
      }
      const dialect = handshakeDialect(req);
      const betaHeader = dialect === 'beta' && req.headers['openai-beta'] !== undefined;
      const upgrade = () =>
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          if (dialect === 'beta' && this.options.betaShapeDisabled === true) {
            ws.send(
              JSON.stringify({ type: 'error', event_id: 'event_beta_disabled', error: wireErrors.betaShapeDisabled() }),
            );
            ws.close(4000, 'beta_api_shape_disabled');
            return;
          }
          this.accept(ws, req, dialect, { url: safeUrl(req), betaHeader, auth: scheme });
        });
      const delayMs = this.options.connectDelayMs ?? 0;
      if (delayMs > 0)
        this.clock.setTimer(delayMs, () => {
          try {
            if (!socket.destroyed) upgrade();
          } catch (err) {
            this.logger.error({ err }, 'emulator failed to take an upgrade');
            socket.destroy();
          }
        });
      else upgrade();
    } catch (err) {
      this.logger.error({ err }, 'emulator failed to take an upgrade');
      socket.destroy();
    }
  };

  private accept(ws: WebSocket, req: IncomingMessage, dialect: Dialect, handshake: EmulatorSession['handshake']): void {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const model =
      url.searchParams.get('model') ?? url.searchParams.get('deployment') ?? this.options.model ?? 'gpt-realtime';
    const index = ++this.count;
    const session = new EmulatorSession({
      index,
      dialect,
      ws,
      clock: this.clock,
      logger: this.logger.child({ emulatorSession: index }),
      seed: this.options.seed ?? 1,
      clips: this.clips,
      pacing: this.pacing,
      sessionMaxMs: this.options.sessionMaxMs ?? DEFAULT_SESSION_MAX_MS,
      model,
      responder: this.options.responder,
      takeQueuedPlan: () => this.planQueue.shift(),
      handshake,
    });
    this.live.add(session);
    session.once('close', () => this.live.delete(session));
    this.logger.debug({ dialect, model, url: handshake.url }, 'emulator session opened');
    const claimer = this.claimers.shift();
    if (claimer !== undefined) claimer(session);
    else this.unclaimed.push(session);
  }

  /** Closes every session (1001) and stops accepting. */
  async close(): Promise<void> {
    const closing = [...this.live].map((s) => {
      s.close(1001, 'emulator shutting down');
      return s.closed;
    });
    // A client that never answers the close handshake must not hold shutdown up.
    const timer = new Promise<void>((resolve) => this.clock.setTimer(1_000, resolve));
    await Promise.race([Promise.all(closing).then(() => undefined), timer]);
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /** Starts a standalone emulator on `port` (0 = any free port). */
  static async listen(
    options: RealtimeEmulatorOptions & { port?: number; host?: string } = {},
  ): Promise<ListeningEmulator> {
    const { port = 0, host = '127.0.0.1', ...rest } = options;
    const emulator = new RealtimeEmulator(rest);
    const server = createServer((_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
      res.end('This is a Realtime API emulator: connect with a WebSocket to /v1/realtime.\n');
    });
    server.on('upgrade', (req, socket, head) => {
      const pathname = new URL(req.url ?? '/', 'http://emulator').pathname;
      if (!pathname.endsWith('/realtime')) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      emulator.handleUpgrade(req, socket, head);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    const actualPort = typeof address === 'object' && address !== null ? address.port : port;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    return {
      url: `ws://${hostPart}:${actualPort}/v1/realtime`,
      port: actualPort,
      emulator,
      close: async () => {
        await emulator.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }
}
