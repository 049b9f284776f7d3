/**
 * Adapter over one Twilio media WebSocket (after its `start` was accepted): parses inbound
 * frames into {@link TwilioEvent}s and executes the session's Twilio commands. It makes no
 * call decisions and does not know which model is on the other side.
 *
 * Control before audio (DESIGN): media and marks are written to the socket while its send
 * buffer is below {@link HIGH_WATER_BYTES}; beyond that they wait in an in-process queue, in
 * order. `clear` is never queued: it empties the queue (that audio never reaches Twilio) and
 * goes out at once, so a barge-in waits behind at most {@link HIGH_WATER_BYTES} of audio
 * already handed to TCP, not behind a whole response (model audio arrives faster than real
 * time, so a long answer is several hundred kB of JSON).
 *
 * Messages written in one turn of the event loop (the frames and marks of one model delta)
 * leave in one `writev`: the first write of a turn corks the TCP socket and a `nextTick`
 * uncorks it, so nothing waits beyond the current turn.
 */
import type { WebSocket } from 'ws';

import type { TwilioCommand } from '../call/events.js';
import { parseTwilioMessage, TwilioEncoder, type TwilioEvent } from '../protocol/twilio.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/**
 * ~4 s of audio as media JSON (≈270 B per 20 ms frame): enough to keep Twilio's buffer fed,
 * small enough that `clear` is prompt.
 */
export const HIGH_WATER_BYTES = 48 * 1024;
/** How often a non-empty queue checks whether the socket has drained. */
const DRAIN_POLL_MS = 10;

/**
 * Close codes `ws` sends when it closes the socket itself over a frame it refuses (by the
 * documented `err.code` of its 'error' event). Its 'close' event then says 1006, because the
 * peer's close frame is never read; the call record should say why the bridge closed.
 */
const WS_ERROR_CLOSE_CODES: Readonly<Record<string, number>> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 1009,
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 1008,
};

export type TwilioTap = (dir: 'twilio_in' | 'twilio_out', text: string) => void;

/** The part of the socket under a `ws` WebSocket that corking needs. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * The TCP socket under `ws` (its `_socket`, not public API), or null if a future `ws` hides
 * it; then every message is written on its own, as without corking.
 */
function underlyingSocket(ws: WebSocket): Corkable | null {
  const socket = (ws as unknown as { _socket?: Partial<Corkable> | null })._socket;
  return socket != null && typeof socket.cork === 'function' && typeof socket.uncork === 'function'
    ? (socket as Corkable)
    : null;
}

export interface TwilioLinkOptions {
  ws: WebSocket;
  streamSid: string;
  clock: Clock;
  logger: Logger;
  onEvent: (event: TwilioEvent | { type: 'twilio.closed'; code: number }) => void;
  /** sees every frame in both directions (the call recorder) */
  tap?: TwilioTap;
}

export class TwilioLink {
  private readonly encoder: TwilioEncoder;
  private readonly queue: string[] = [];
  private drainTimer: TimerHandle | null = null;
  private readonly socket: Corkable | null;
  private corked = false;
  private closed = false;
  private badMessages = 0;
  /** the close code `ws` sent when it refused a frame (see {@link WS_ERROR_CLOSE_CODES}) */
  private refusedWith: number | null = null;
  /** frames received and sent (metrics) */
  framesIn = 0;
  framesOut = 0;

  constructor(private readonly options: TwilioLinkOptions) {
    this.encoder = new TwilioEncoder(options.streamSid);
    const { ws } = options;
    this.socket = underlyingSocket(ws);
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('close', (code) => this.onClose(code));
    ws.on('error', (err: Error & { code?: string }) => {
      if (typeof err.code === 'string' && err.code.startsWith('WS_ERR_'))
        this.refusedWith = WS_ERROR_CLOSE_CODES[err.code] ?? 1002;
      options.logger.warn({ err: { message: err.message, code: err.code } }, 'twilio socket error');
    });
  }

  /** Feeds a frame that arrived before this link existed (the `start` the gate already read). */
  tapInbound(text: string): void {
    this.safeTap('twilio_in', text);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    try {
      if (isBinary) {
        this.reject('binary frame');
        return;
      }
      const text = data.toString('utf8');
      const parsed = parseTwilioMessage(text);
      if (!parsed.ok) {
        this.reject(parsed.reason);
        return;
      }
      this.safeTap('twilio_in', text);
      if (parsed.event.type === 'twilio.media') this.framesIn++;
      this.options.onEvent(parsed.event);
    } catch (err) {
      // onEvent is the runner, which guards itself; this is a last line of defence.
      this.options.logger.error({ err }, 'twilio message handling failed');
    }
  }

  private reject(reason: string): void {
    this.badMessages++;
    // Logged at warn for the first few, then sampled: a flood of garbage must not flood the log.
    if (this.badMessages <= 5 || this.badMessages % 1000 === 0) {
      this.options.logger.warn({ reason, count: this.badMessages }, 'twilio message dropped');
    }
  }

  private onClose(code: number): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    if (this.drainTimer !== null) this.options.clock.clearTimer(this.drainTimer);
    this.options.onEvent({
      type: 'twilio.closed',
      code: code === 1006 && this.refusedWith !== null ? this.refusedWith : code,
    });
  }

  /** Executes one Twilio command. Never throws. */
  execute(cmd: TwilioCommand): void {
    if (this.closed) return;
    switch (cmd.type) {
      case 'twilio.media':
        this.framesOut++;
        this.enqueue(this.encoder.media(cmd.payload));
        break;
      case 'twilio.mark':
        this.enqueue(this.encoder.mark(cmd.name));
        break;
      case 'twilio.clear':
        this.queue.length = 0;
        this.write(this.encoder.clear());
        break;
      case 'twilio.close':
        this.close(cmd.code, cmd.reason);
        break;
    }
  }

  /** Closes the socket; `twilio.closed` follows when it has closed. */
  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    this.flushQueueNow();
    try {
      this.options.ws.close(code, reason.slice(0, 120));
    } catch {
      this.options.ws.terminate();
    }
  }

  get queuedMessages(): number {
    return this.queue.length;
  }

  private enqueue(text: string): void {
    if (this.queue.length === 0 && this.options.ws.bufferedAmount < HIGH_WATER_BYTES) {
      this.write(text);
      return;
    }
    this.queue.push(text);
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainTimer !== null) return;
    this.drainTimer = this.options.clock.setTimer(DRAIN_POLL_MS, () => {
      this.drainTimer = null;
      while (this.queue.length > 0 && this.options.ws.bufferedAmount < HIGH_WATER_BYTES)
        this.write(this.queue.shift()!);
      if (this.queue.length > 0) this.scheduleDrain();
    });
  }

  private flushQueueNow(): void {
    while (this.queue.length > 0) this.write(this.queue.shift()!);
  }

  private write(text: string): void {
    if (this.options.ws.readyState !== this.options.ws.OPEN) return;
    this.corkUntilNextTick();
    this.options.ws.send(text);
    this.safeTap('twilio_out', text);
  }

  /** The recorder observes and never influences: if it throws, the frame is still handled. */
  private safeTap(dir: 'twilio_in' | 'twilio_out', text: string): void {
    if (this.options.tap === undefined) return;
    try {
      this.options.tap(dir, text);
    } catch (err) {
      this.options.logger.error({ err }, 'twilio tap threw');
    }
  }

  /**
   * Holds this turn's writes in the socket and sends them in one `writev` when the turn's
   * synchronous work is done. Measured with the load bench: a 200 ms delta becomes ~10 media
   * frames and 3 marks, 13 syscalls before, 1 now.
   */
  private corkUntilNextTick(): void {
    const socket = this.socket;
    if (socket === null || this.corked) return;
    this.corked = true;
    socket.cork();
    process.nextTick(() => {
      this.corked = false;
      socket.uncork();
    });
  }
}
