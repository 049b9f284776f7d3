/**
 * A lean simulated phone for the load bench: behaves like Twilio towards the bridge, at a
 * fraction of `src/sim/phone.ts`'s cost, so one generator core can drive hundreds of calls.
 *
 * Same behaviour as the product's phone (PROTOCOLS §2.5–2.8):
 * - webhook `POST /twilio/voice` → TwiML → the `<Stream url>` socket, `connected` then
 *   `start` with the TwiML `<Parameter>`s (including the one-time token);
 * - caller `media` every 20 ms on the call's real-time clock, with string `sequenceNumber`,
 *   `chunk` and `timestamp`;
 * - a real-time playout clock: one 20 ms slot per frame; a `mark` is echoed when the audio
 *   queued before it has played (at once when nothing is queued); `clear` drops the queue and
 *   echoes every pending mark;
 * - `hangUp()` sends `stop` and closes.
 *
 * What makes it lean: the caller frames are base64 strings built once and shared by all
 * phones; a message is one template string; the playout queue holds no audio bytes (only
 * "a frame" or a mark name); there is no per-phone timer — {@link PhoneFleet} ticks every
 * phone from one interval. It keeps no recording of what was heard.
 */
import { randomBytes } from 'node:crypto';

import WebSocket from 'ws';

import { CONNECTED_MESSAGE, startMessage } from '../../src/sim/stream-messages.js';
import { parseStreamTwiml } from '../../src/sim/twiml.js';
import type { CallProbe } from './probe.js';

const FRAME_MS = 20;
/** base64 length of a 160-byte μ-law frame */
const FRAME_B64_CHARS = 216;

export interface PhoneCounters {
  marksEchoed: number;
  clears: number;
  /** frames dropped from the playout queue by `clear` */
  clearedFrames: number;
  /** frames played */
  playedFrames: number;
  /** messages that were not what Twilio's protocol allows (bad JSON, wrong streamSid, odd payload size) */
  protocolErrors: number;
}

/** Playout queue: `null` is a 20 ms frame, a string is a mark name. Head index, compacted now and then. */
class PlayoutQueue {
  private items: (string | null)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: string | null): void {
    this.items.push(item);
  }

  peek(): string | null | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  shift(): string | null | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes and returns everything queued. */
  drain(): (string | null)[] {
    const all = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return all;
  }
}

export class LeanPhone {
  readonly callSid = `CA${randomBytes(16).toString('hex')}`;
  readonly streamSid = `MZ${randomBytes(16).toString('hex')}`;
  readonly accountSid = `AC${'0'.repeat(32)}`;
  readonly counters: PhoneCounters = {
    marksEchoed: 0,
    clears: 0,
    clearedFrames: 0,
    playedFrames: 0,
    protocolErrors: 0,
  };
  /** caller audio is streamed while true */
  streaming = false;
  private ws: WebSocket | null = null;
  private startedAt = 0;

  /** performance.now() when the stream started (after dial); frames fall due every 20 ms from here */
  get startedAtMs(): number {
    return this.startedAt;
  }
  private seq = 0;
  private slots = 0;
  private readonly queue = new PlayoutQueue();
  private readonly sidJson: string;
  private closedResolve: (() => void) | null = null;
  private readonly closedPromise: Promise<void>;
  private hungUp = false;
  /** the socket closed before we hung up */
  droppedByBridge = false;

  constructor(
    readonly probe: CallProbe,
    private readonly callerFramesB64: readonly string[],
  ) {
    this.sidJson = JSON.stringify(this.streamSid);
    this.closedPromise = new Promise((resolve) => (this.closedResolve = resolve));
  }

  get isOpen(): boolean {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * Places the call: webhook, TwiML, media socket, `connected` + `start`. Caller audio
   * starts with the next fleet tick.
   */
  async dial(bridgeUrl: string, to: string): Promise<void> {
    const params = {
      AccountSid: this.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: this.callSid,
      CallStatus: 'ringing',
      Direction: 'inbound',
      From: '+15550001111',
      To: to,
    };
    const res = await fetch(`${bridgeUrl}/twilio/voice`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
    const xml = await res.text();
    if (res.status !== 200) throw new Error(`webhook answered HTTP ${res.status}`);
    const stream = parseStreamTwiml(xml);
    if (stream === null) throw new Error('the TwiML has no <Connect><Stream>');
    const ws = new WebSocket(stream.url, { perMessageDeflate: false });
    this.ws = ws;
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('close', () => {
      if (!this.hungUp) this.droppedByBridge = true;
      this.streaming = false;
      this.closedResolve?.();
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, r) =>
        reject(new Error(`media upgrade answered HTTP ${r.statusCode ?? 0}`)),
      );
    });
    ws.on('error', () => {
      this.counters.protocolErrors++;
    });
    this.startedAt = performance.now();
    ws.send(JSON.stringify(CONNECTED_MESSAGE));
    ws.send(JSON.stringify(startMessage(this, stream.parameters, ++this.seq)));
    this.streaming = true;
  }

  /** Called by the fleet every few ms: sends the caller frames that are due and plays the due slots. */
  tick(nowMs: number): void {
    if (this.ws === null || this.ws.readyState !== WebSocket.OPEN) return;
    const elapsed = nowMs - this.startedAt;
    if (this.streaming) {
      while ((this.probe.framesSent + 1) * FRAME_MS <= elapsed) this.sendCallerFrame();
    }
    while ((this.slots + 1) * FRAME_MS <= elapsed) this.playSlot();
  }

  private sendCallerFrame(): void {
    const index = this.probe.framesSent;
    const payload = this.callerFramesB64[index % this.callerFramesB64.length]!;
    const seq = ++this.seq;
    // Twilio's counters are strings; chunk counts media messages from 1, timestamp is ms.
    const text =
      `{"event":"media","sequenceNumber":"${seq}","media":{"track":"inbound","chunk":"${index + 1}",` +
      `"timestamp":"${index * FRAME_MS}","payload":"${payload}"},"streamSid":${this.sidJson}}`;
    this.probe.frameSent(performance.now());
    this.ws!.send(text);
  }

  /** One 20 ms playout slot: echo the marks whose audio has finished, then play the next frame. */
  private playSlot(): void {
    this.slots++;
    while (typeof this.queue.peek() === 'string') this.echoMark(this.queue.shift() as string);
    if (this.queue.peek() === null) {
      this.queue.shift();
      this.counters.playedFrames++;
    }
  }

  private echoMark(name: string): void {
    this.counters.marksEchoed++;
    this.send(
      `{"event":"mark","sequenceNumber":"${++this.seq}","streamSid":${this.sidJson},` +
        `"mark":{"name":${JSON.stringify(name)}}}`,
    );
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    const now = performance.now();
    if (isBinary) {
      this.counters.protocolErrors++;
      return;
    }
    let msg: { event?: unknown; streamSid?: unknown; media?: { payload?: unknown }; mark?: { name?: unknown } };
    try {
      msg = JSON.parse(data.toString('utf8')) as typeof msg;
    } catch {
      this.counters.protocolErrors++;
      return;
    }
    if (msg.streamSid !== this.streamSid) this.counters.protocolErrors++;
    switch (msg.event) {
      case 'media': {
        const payload = msg.media?.payload;
        if (typeof payload !== 'string' || payload.length !== FRAME_B64_CHARS) this.counters.protocolErrors++;
        this.probe.frameHeard(now);
        this.queue.push(null);
        break;
      }
      case 'mark': {
        const name = msg.mark?.name;
        if (typeof name !== 'string') {
          this.counters.protocolErrors++;
          break;
        }
        // A mark with nothing queued before it comes back at once.
        if (this.queue.length === 0) this.echoMark(name);
        else this.queue.push(name);
        break;
      }
      case 'clear': {
        this.counters.clears++;
        // Twilio drops the buffered audio and echoes every pending mark.
        for (const item of this.queue.drain()) {
          if (item === null) this.counters.clearedFrames++;
          else this.echoMark(item);
        }
        break;
      }
      default:
        this.counters.protocolErrors++;
    }
  }

  private send(text: string): void {
    if (this.ws !== null && this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  /** The caller hangs up: `stop`, then close. Resolves when the socket has closed. */
  async hangUp(): Promise<void> {
    this.streaming = false;
    if (this.ws === null) return;
    if (this.isOpen) {
      this.hungUp = true;
      this.send(
        `{"event":"stop","sequenceNumber":"${++this.seq}","streamSid":${this.sidJson},` +
          `"stop":{"accountSid":"${this.accountSid}","callSid":"${this.callSid}"}}`,
      );
      this.ws.close(1000);
    }
    await this.closedPromise;
  }

  /** Drops the socket at once (clean-up after a failure). */
  terminate(): void {
    this.hungUp = true;
    this.ws?.terminate();
  }
}

/** What the fleet needs of a phone. */
export interface FleetMember {
  /** frames and playout slots fall due at this time + 20 ms · k */
  readonly startedAtMs: number;
  tick(nowMs: number): void;
}

/**
 * All phones of a generator, ticked from one interval instead of one timer per phone. A
 * phone's frames and playout slots fall due every 20 ms at a fixed phase (its start time), so
 * phones are kept in 20 buckets by start time modulo 20 ms and a tick visits only the buckets
 * whose millisecond has fully passed since the last tick: each phone is looked at once per
 * 20 ms, at most 1 ms after it is due, however many phones there are.
 */
export class PhoneFleet<P extends FleetMember = LeanPhone> {
  readonly phones: P[] = [];
  private readonly buckets: P[][] = Array.from({ length: FRAME_MS }, () => []);
  /** the last millisecond whose bucket was visited */
  private visitedMs = -1;

  /** Adds a phone that has dialled (its start time is known). */
  add(phone: P): void {
    this.phones.push(phone);
    this.buckets[Math.floor(phone.startedAtMs) % FRAME_MS]!.push(phone);
  }

  tick(nowMs: number): void {
    // Visit millisecond m once now >= m + 1, so a phone due anywhere inside m is due by now.
    const last = Math.floor(nowMs) - 1;
    if (this.visitedMs < 0) this.visitedMs = last - FRAME_MS;
    const from = Math.max(this.visitedMs + 1, last - FRAME_MS + 1);
    for (let m = from; m <= last; m++) {
      for (const phone of this.buckets[m % FRAME_MS]!) phone.tick(nowMs);
    }
    this.visitedMs = Math.max(this.visitedMs, last);
  }
}
