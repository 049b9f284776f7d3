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
 *
 * The queue is bounded ({@link MAX_QUEUED_BYTES}): when a stalled socket lets it fill, the
 * oldest audio is dropped (counted, `onAudioDropped`), never a mark — marks are how the session
 * learns what was played, and each one left in place still echoes.
 *
 * Liveness (SPEC §8), when `limits` are given: a stream that sends nothing for
 * `mediaTimeoutMs`, or leaves a ping unanswered until the next one (`pingIntervalMs`), raises
 * `call.limit` `media_timeout`, after which the socket is terminated (a peer that stopped
 * answering will not complete a close handshake); `maxDurationMs` after the start it raises
 * `call.limit` `max_duration` and the session ends the call its own way.
 */
import type { WebSocket } from 'ws';

import type { TwilioTap } from '../call/call-factory.js';
import type { CallLimitEvent, TwilioCommand } from '../call/events.js';
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
 * Bound of the in-process queue: ~1 MiB is ~75 s of audio as media JSON, far beyond any answer
 * a healthy socket would be behind on; only a socket that stopped draining reaches it.
 */
export const MAX_QUEUED_BYTES = 1024 * 1024;

/** The stream's liveness and length limits (SPEC §8). */
export interface TwilioLinkLimits {
  /** a stream that sends no message for this long raises `media_timeout` (MEDIA_TIMEOUT_S) */
  mediaTimeoutMs: number;
  /** a ping is sent this often; one still unanswered at the next raises `media_timeout` */
  pingIntervalMs: number;
  /** `max_duration` is raised this long after the start (MAX_CALL_DURATION_S) */
  maxDurationMs: number;
}

/** RFC 6455 §5.5.2: an endpoint answers every ping with a pong; Twilio is pinged this often. */
export const TWILIO_PING_INTERVAL_MS = 10_000;

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
  onEvent: (event: TwilioEvent | { type: 'twilio.closed'; code: number } | CallLimitEvent) => void;
  /** sees every frame in both directions (the call recorder) */
  tap?: TwilioTap;
  /** liveness and length limits; none when omitted (tests of the link alone, the replayer) */
  limits?: TwilioLinkLimits;
  /** bound of the outbound queue in bytes (default {@link MAX_QUEUED_BYTES}) */
  maxQueuedBytes?: number;
  /** an audio message was dropped from the full queue */
  onAudioDropped?: () => void;
}

/** A message waiting for the socket; only `media` may be dropped. */
interface Queued {
  text: string;
  audio: boolean;
}

export class TwilioLink {
  private readonly encoder: TwilioEncoder;
  private readonly queue: Queued[] = [];
  private queueBytes = 0;
  private readonly maxQueuedBytes: number;
  private drainTimer: TimerHandle | null = null;
  private lastInboundMs = 0;
  private mediaTimer: TimerHandle | null = null;
  private pingTimer: TimerHandle | null = null;
  private durationTimer: TimerHandle | null = null;
  private awaitingPong = false;
  /** audio messages dropped from the full queue */
  droppedAudio = 0;
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
    this.maxQueuedBytes = options.maxQueuedBytes ?? MAX_QUEUED_BYTES;
    const { ws } = options;
    this.socket = underlyingSocket(ws);
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('close', (code) => this.onClose(code));
    ws.on('pong', () => {
      this.awaitingPong = false;
    });
    if (options.limits !== undefined) this.startLimits(options.limits);
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
    // Any frame proves the stream alive (one clock read a frame; the timer is re-armed lazily).
    if (this.mediaTimer !== null) this.lastInboundMs = this.options.clock.now();
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

  private startLimits(limits: TwilioLinkLimits): void {
    const { clock } = this.options;
    this.lastInboundMs = clock.now();
    // A verdict is confirmed one turn of IO later: after a stalled event loop Node runs due timers
    // before it reads what waits on the socket, and frames (or the pong) may be waiting there.
    const confirmed = (stillBad: () => boolean, then: () => void, otherwise: () => void) =>
      clock.setTimer(0, () => (stillBad() ? then() : otherwise()));
    const silentMs = () => clock.now() - this.lastInboundMs;
    const checkMedia = (delayMs: number) => {
      this.mediaTimer = clock.setTimer(delayMs, () => {
        if (silentMs() < limits.mediaTimeoutMs) return checkMedia(limits.mediaTimeoutMs - silentMs());
        this.mediaTimer = confirmed(
          () => silentMs() >= limits.mediaTimeoutMs,
          () => this.limitReached('media_timeout', { silentMs: silentMs() }),
          () => checkMedia(limits.mediaTimeoutMs - silentMs()),
        );
      });
    };
    checkMedia(limits.mediaTimeoutMs);
    const ping = () => {
      this.awaitingPong = true;
      try {
        this.options.ws.ping();
      } catch (err) {
        this.options.logger.debug({ err }, 'twilio ping failed');
      }
      this.pingTimer = clock.setTimer(limits.pingIntervalMs, () => {
        this.pingTimer = confirmed(
          () => this.awaitingPong,
          () => this.limitReached('media_timeout', { missingPong: true }),
          ping,
        );
      });
    };
    this.pingTimer = clock.setTimer(limits.pingIntervalMs, ping);
    this.durationTimer = clock.setTimer(limits.maxDurationMs, () => this.limitReached('max_duration', {}));
  }

  private stopLimits(): void {
    const { clock } = this.options;
    for (const timer of [this.mediaTimer, this.pingTimer, this.durationTimer])
      if (timer !== null) clock.clearTimer(timer);
    this.mediaTimer = this.pingTimer = this.durationTimer = null;
  }

  private limitReached(reason: CallLimitEvent['reason'], fields: Record<string, unknown>): void {
    if (this.closed) return;
    if (reason === 'media_timeout') this.stopLimits();
    else this.durationTimer = null;
    this.options.logger.warn({ reason, ...fields }, 'twilio stream limit reached');
    this.options.onEvent({ type: 'call.limit', reason });
    // A peer that stopped sending or answering pings will not answer a close frame either.
    if (reason === 'media_timeout' && !this.closed) this.options.ws.terminate();
  }

  private onClose(code: number): void {
    if (this.closed) return;
    this.closed = true;
    this.stopLimits();
    this.queue.length = 0;
    this.queueBytes = 0;
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
        this.enqueue(this.encoder.media(cmd.payload), true);
        break;
      case 'twilio.mark':
        this.enqueue(this.encoder.mark(cmd.name), false);
        break;
      case 'twilio.clear':
        this.queue.length = 0;
        this.queueBytes = 0;
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

  /** Bytes waiting in the in-process queue (never above the bound plus one message). */
  get queuedBytes(): number {
    return this.queueBytes;
  }

  private enqueue(text: string, audio: boolean): void {
    if (this.queue.length === 0 && this.options.ws.bufferedAmount < HIGH_WATER_BYTES) {
      this.write(text);
      return;
    }
    this.queue.push({ text, audio });
    this.queueBytes += text.length;
    if (this.queueBytes > this.maxQueuedBytes) this.dropOldestAudio();
    this.scheduleDrain();
  }

  /** The socket has stalled: make room by dropping the oldest audio, keeping every mark. */
  private dropOldestAudio(): void {
    const before = this.droppedAudio;
    let i = 0;
    while (this.queueBytes > this.maxQueuedBytes && i < this.queue.length) {
      const entry = this.queue[i]!;
      if (!entry.audio) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.queueBytes -= entry.text.length;
      this.droppedAudio++;
      this.options.onAudioDropped?.();
    }
    // logged at the first drop, then every 1000th: a stalled socket must not flood the log
    if (
      this.droppedAudio > before &&
      (before === 0 || Math.floor(before / 1000) < Math.floor(this.droppedAudio / 1000))
    ) {
      this.options.logger.warn(
        { dropped: this.droppedAudio, queuedBytes: this.queueBytes },
        'twilio socket stalled; oldest queued audio dropped',
      );
    }
  }

  private scheduleDrain(): void {
    if (this.drainTimer !== null) return;
    this.drainTimer = this.options.clock.setTimer(DRAIN_POLL_MS, () => {
      this.drainTimer = null;
      while (this.queue.length > 0 && this.options.ws.bufferedAmount < HIGH_WATER_BYTES) this.writeQueued();
      if (this.queue.length > 0) this.scheduleDrain();
    });
  }

  private writeQueued(): void {
    const entry = this.queue.shift()!;
    this.queueBytes -= entry.text.length;
    this.write(entry.text);
  }

  private flushQueueNow(): void {
    while (this.queue.length > 0) this.writeQueued();
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
   * synchronous work is done: one model delta becomes several media frames and marks, which
   * would otherwise cost a syscall each (figures: bench/README.md).
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
