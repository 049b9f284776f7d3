/**
 * A bare Twilio media stream for robustness tests: dials the bridge's webhook like Twilio
 * (so the stream carries a real one-time token), opens the `<Stream url>` socket and sends
 * `connected` + `start` — then does nothing on its own. The test decides every later frame.
 *
 * Unlike the simulated phone it exposes what garbage tests need: binary frames, the close
 * code *and* reason, and {@link MediaStream.flush}, a ping whose pong proves the bridge has
 * taken every earlier frame off the socket (a WebSocket peer answers control frames in
 * order), so a fuzzer can go as fast as the bridge reads without piling megabytes into the
 * kernel's socket buffers and without sleeping.
 */
import { randomBytes } from 'node:crypto';

import WebSocket from 'ws';

import { CONNECTED_MESSAGE, startBody } from '../../src/sim/stream-messages.js';
import { parseStreamTwiml } from '../../src/sim/twiml.js';

export interface MediaStreamOptions {
  bridgeUrl: string;
  to: string;
  from?: string;
  callSid?: string;
  /** answer the bridge's pings (default true, as every WebSocket peer must); false plays a half-dead peer */
  autoPong?: boolean;
}

export interface StreamClose {
  code: number;
  reason: string;
}

export class MediaStream {
  readonly callSid: string;
  readonly streamSid = `MZ${randomBytes(16).toString('hex')}`;
  readonly accountSid = `AC${'0'.repeat(32)}`;
  /** outbound `media` frames the bridge sent to this stream */
  mediaReceived = 0;
  /** `performance.now()` when the first of them arrived */
  firstMediaAt: number | null = null;
  /** every `mark` name the bridge sent */
  readonly marksReceived: string[] = [];
  /** resolves when the socket has closed, with the bridge's code and reason */
  readonly closed: Promise<StreamClose>;
  private resolveClosed!: (c: StreamClose) => void;
  private ws: WebSocket | null = null;
  private closeInfo: StreamClose | null = null;
  private pings = 0;
  private readonly pongWaiters = new Map<string, () => void>();

  constructor(private readonly options: MediaStreamOptions) {
    this.callSid = options.callSid ?? `CA${randomBytes(16).toString('hex')}`;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** How the socket closed, once it has. */
  get closeResult(): StreamClose | null {
    return this.closeInfo;
  }

  /** the `<Parameter>`s of the TwiML (token included), once dialled */
  parameters: Record<string, string> = {};

  /**
   * Webhook → TwiML → socket → `connected` + `start`. With `sendStart: false` the socket is
   * left open after `connected`; {@link sendStart} sends it later.
   */
  async dial(options: { sendStart?: boolean } = {}): Promise<void> {
    const params = {
      AccountSid: this.accountSid,
      CallSid: this.callSid,
      CallStatus: 'ringing',
      Direction: 'inbound',
      From: this.options.from ?? '+15550002222',
      To: this.options.to,
    };
    const res = await fetch(`${this.options.bridgeUrl}/twilio/voice`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
    const twiml = parseStreamTwiml(await res.text());
    if (res.status !== 200 || twiml === null) throw new Error(`webhook answered HTTP ${res.status} without a stream`);
    const ws = new WebSocket(twiml.url, { perMessageDeflate: false, autoPong: this.options.autoPong ?? true });
    this.ws = ws;
    ws.on('message', (data: Buffer) => this.onMessage(data));
    ws.on('pong', (data: Buffer) => {
      const key = data.toString();
      this.pongWaiters.get(key)?.();
      this.pongWaiters.delete(key);
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closeInfo = { code, reason: reason.toString() };
      for (const resolve of this.pongWaiters.values()) resolve();
      this.pongWaiters.clear();
      this.resolveClosed(this.closeInfo);
    });
    // A socket error is followed by 'close'; the close result is what tests look at.
    ws.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, r) =>
        reject(new Error(`media upgrade answered HTTP ${r.statusCode ?? 0}`)),
      );
    });
    this.parameters = twiml.parameters;
    this.sendJson(CONNECTED_MESSAGE);
    if (options.sendStart !== false) this.sendStart();
  }

  /** Sends the `start` Twilio would send, with the TwiML's parameters. */
  sendStart(): void {
    this.sendJson({
      event: 'start',
      sequenceNumber: '1',
      streamSid: this.streamSid,
      start: this.startBody(this.parameters),
    });
  }

  /** The `start` payload Twilio would send for this stream (tests reuse it for duplicates). */
  startBody(customParameters: Record<string, string>): object {
    return startBody(this, customParameters);
  }

  /** Sends one frame as is (text unless `binary`). Ignored once the socket is closing. */
  send(data: string | Buffer, binary = false): void {
    if (this.isOpen) this.ws!.send(data, { binary });
  }

  sendJson(msg: object): void {
    this.send(JSON.stringify(msg));
  }

  /** One valid 20 ms caller frame. */
  sendMedia(timestampMs: number, payload: Buffer = Buffer.alloc(160, 0xff)): void {
    this.sendJson({
      event: 'media',
      sequenceNumber: '2',
      streamSid: this.streamSid,
      media: { track: 'inbound', chunk: '1', timestamp: String(timestampMs), payload: payload.toString('base64') },
    });
  }

  /**
   * Resolves once the bridge has read every frame sent before this call (its pong came back),
   * or at once when the socket is closed.
   */
  flush(): Promise<void> {
    if (!this.isOpen) return Promise.resolve();
    const key = String(++this.pings);
    return new Promise((resolve) => {
      this.pongWaiters.set(key, resolve);
      this.ws!.ping(key);
    });
  }

  /** The caller hangs up: `stop`, then a normal close. */
  async hangUp(): Promise<StreamClose> {
    if (this.isOpen) {
      this.sendJson({
        event: 'stop',
        sequenceNumber: '3',
        streamSid: this.streamSid,
        stop: { accountSid: this.accountSid, callSid: this.callSid },
      });
      this.ws!.close(1000);
    }
    return this.closed;
  }

  /** Closes the socket with a close frame but without a `stop` first. */
  close(code = 1000): Promise<StreamClose> {
    this.ws?.close(code);
    return this.closed;
  }

  /** Network failure: the TCP connection is destroyed, no `stop`, no close frame. */
  drop(): void {
    this.ws?.terminate();
  }

  private onMessage(data: Buffer): void {
    const text = data.toString();
    if (text.startsWith('{"event":"media"')) {
      this.firstMediaAt ??= performance.now();
      this.mediaReceived++;
      return;
    }
    const msg = JSON.parse(text) as { event?: string; mark?: { name?: string } };
    if (msg.event === 'mark' && typeof msg.mark?.name === 'string') this.marksReceived.push(msg.mark.name);
  }
}
