/**
 * The simulated phone: plays Twilio towards a running bridge, the way Twilio does it
 * (PROTOCOLS.md §1–§2):
 *
 * 1. `POST /twilio/voice` (form-encoded, signed with `X-Twilio-Signature` when an auth token
 *    is given) → TwiML;
 * 2. opens the `<Stream url>` WebSocket and sends `connected` and `start` with the TwiML's
 *    `<Parameter>`s as `customParameters`;
 * 3. streams the caller's audio as 20 ms μ-law `media` frames on a real-time clock (string
 *    `sequenceNumber`, `chunk`, `timestamp`), then silence until hung up;
 * 4. plays the bridge's audio on a real-time playout clock: a `mark` is echoed when the audio
 *    queued before it has played; `clear` drops the queue and echoes every pending mark at
 *    once, exactly like Twilio;
 * 5. `hangUp()` sends `stop` and closes.
 *
 * Shipped in the product (`npm run call`) and used by the integration tests and benchmarks.
 * Time runs on `performance.now()`; `timeScale` > 1 runs the whole call faster.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';

import twilio from 'twilio';
import WebSocket from 'ws';

import { CONNECTED_MESSAGE, startMessage } from './stream-messages.js';
import { isRejectTwiml, parseStreamTwiml } from './twiml.js';

const FRAME_BYTES = 160;
const FRAME_MS = 20;
/** Sub-frame tick of the real-time loop; frames are sent by due time, so ticks only bound jitter. */
const TICK_MS = 5;

export interface PhoneOptions {
  /** bridge base URL, e.g. http://127.0.0.1:3000 */
  bridgeUrl: string;
  to: string;
  from?: string;
  callSid?: string;
  accountSid?: string;
  /** signs the webhook like Twilio does (the bridge's TWILIO_AUTH_TOKEN) */
  authToken?: string | null;
  /** the URL the signature is computed over (the bridge's PUBLIC_URL); defaults to bridgeUrl */
  signatureBaseUrl?: string;
  /** caller audio: raw μ-law 8 kHz */
  callerAudio?: Uint8Array;
  /** start the caller audio this many ms after the stream starts (silence before) */
  callerAudioAtMs?: number;
  /** DTMF digits to press, each at a time in ms from stream start */
  dtmf?: { digit: string; atMs: number }[];
  /** 1 = real time (default); 2 = twice as fast (tests) */
  timeScale?: number;
  /** Twilio skips some silent frames; simulate gaps: drop frames whose index matches */
  dropFrame?: (index: number) => boolean;
}

export interface PhoneStats {
  framesSent: number;
  framesReceived: number;
  marksReceived: number;
  marksEchoed: number;
  clearsReceived: number;
  /** ms of assistant audio played */
  playedMs: number;
  /** ms from stream start to the first assistant audio heard */
  firstAudioAtMs: number | null;
}

/** One `clear`: when it arrived and what had been heard of the audio it cut. */
export interface ClearRecord {
  atMs: number;
  /** the last mark echoed as played before the clear (name as the bridge sent it) */
  lastPlayedMark: string | null;
  /** ms of audio played since that mark was echoed */
  playedSinceMarkMs: number;
  /** ms of audio dropped from the playout queue */
  droppedMs: number;
  /** marks echoed by the clear (not played) */
  clearedMarks: string[];
}

type QueueEntry = { kind: 'audio'; frame: Buffer } | { kind: 'mark'; name: string };

/**
 * Events: `media` (frame received), `mark` (name echoed, played:boolean), `clear`
 * (ClearRecord), `closed` (code).
 */
export class SimulatedPhone extends EventEmitter {
  readonly callSid: string;
  readonly streamSid: string;
  readonly accountSid: string;
  readonly stats: PhoneStats = {
    framesSent: 0,
    framesReceived: 0,
    marksReceived: 0,
    marksEchoed: 0,
    clearsReceived: 0,
    playedMs: 0,
    firstAudioAtMs: null,
  };
  readonly clears: ClearRecord[] = [];
  /** everything the caller heard, μ-law 8 kHz, silence where nothing played (time-aligned from stream start) */
  private readonly heard: Buffer[] = [];
  private readonly queue: QueueEntry[] = [];
  private ws: WebSocket | null = null;
  private startedAt = 0;
  private seq = 0;
  private chunk = 0;
  private sentFrames = 0;
  private playedFrames = 0;
  private loop: NodeJS.Timeout | null = null;
  private lastPlayedMark: string | null = null;
  private playedSinceMarkMs = 0;
  private dtmfSent = 0;
  private closedCode: number | null = null;
  private closedPromise: Promise<number> | null = null;
  private readonly scale: number;

  constructor(private readonly options: PhoneOptions) {
    super();
    this.callSid = options.callSid ?? `CA${randomBytes(16).toString('hex')}`;
    this.streamSid = `MZ${randomBytes(16).toString('hex')}`;
    this.accountSid = options.accountSid ?? `AC${'0'.repeat(32)}`;
    this.scale = options.timeScale ?? 1;
  }

  /** ms since the stream started, on the call's (scaled) clock. */
  nowMs(): number {
    return (performance.now() - this.startedAt) * this.scale;
  }

  /**
   * Places the call. Resolves once the stream is open and `start` was sent.
   * @throws when the webhook is refused, rejects the call, or the socket fails
   */
  async dial(): Promise<void> {
    const params: Record<string, string> = {
      AccountSid: this.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: this.callSid,
      CallStatus: 'ringing',
      Direction: 'inbound',
      From: this.options.from ?? '+15550001111',
      To: this.options.to,
    };
    const voiceUrl = `${this.options.bridgeUrl.replace(/\/+$/, '')}/twilio/voice`;
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (this.options.authToken) {
      const signedUrl = `${(this.options.signatureBaseUrl ?? this.options.bridgeUrl).replace(/\/+$/, '')}/twilio/voice`;
      headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(this.options.authToken, signedUrl, params);
    }
    const res = await fetch(voiceUrl, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
    const xml = await res.text();
    if (res.status !== 200) throw new Error(`webhook answered HTTP ${res.status}`);
    if (isRejectTwiml(xml)) throw new Error('the bridge rejected the call (<Reject/>)');
    const stream = parseStreamTwiml(xml);
    if (stream === null) throw new Error('the TwiML has no <Connect><Stream>');
    // Twilio connects to the url as written; a local bridge answers ws:// for http://.
    await this.connect(stream.url, stream.parameters);
  }

  /** Opens the media socket directly (for tests of the gate: forged or replayed parameters). */
  async connect(
    url: string,
    customParameters: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<void> {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    this.ws = ws;
    this.closedPromise = new Promise((resolve) => {
      ws.on('close', (code) => {
        this.closedCode = code;
        this.stopLoop();
        this.emit('closed', code);
        resolve(code);
      });
    });
    ws.on('message', (data: Buffer) => this.onMessage(data.toString()));
    ws.on('error', (err) => this.emit('socketError', err));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`media upgrade answered HTTP ${res.statusCode ?? 0}`)),
      );
    });
    this.startedAt = performance.now();
    this.sendJson(CONNECTED_MESSAGE);
    this.sendJson(startMessage(this, customParameters, ++this.seq));
    this.loop = setInterval(() => this.tick(), TICK_MS);
  }

  /** Resolves with the close code when the media socket closes. */
  closed(): Promise<number> {
    return this.closedPromise ?? Promise.resolve(this.closedCode ?? 1005);
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Sends a raw frame (tests throw garbage through here). */
  sendRaw(data: string | Buffer, binary = false): void {
    this.ws?.send(data, { binary });
  }

  /** Presses a key now. */
  pressKey(digit: string): void {
    this.sendJson({
      event: 'dtmf',
      streamSid: this.streamSid,
      sequenceNumber: String(++this.seq),
      dtmf: { track: 'inbound_track', digit },
    });
  }

  /** The caller hangs up: `stop`, then the socket closes. */
  async hangUp(): Promise<void> {
    this.stopLoop();
    if (this.isOpen) {
      this.sendJson({
        event: 'stop',
        sequenceNumber: String(++this.seq),
        streamSid: this.streamSid,
        stop: { accountSid: this.accountSid, callSid: this.callSid },
      });
      this.ws!.close(1000);
    }
    await this.closed();
  }

  /** Drops the socket without `stop` (network failure). */
  drop(): void {
    this.stopLoop();
    this.ws?.terminate();
  }

  /** ms of assistant audio received and not yet played (Twilio's playout buffer). */
  get queuedMs(): number {
    let ms = 0;
    for (const entry of this.queue) if (entry.kind === 'audio') ms += FRAME_MS;
    return ms;
  }

  /** What the caller heard so far: μ-law 8 kHz, time-aligned, silence where nothing played. */
  heardAudio(): Buffer {
    return Buffer.concat(this.heard);
  }

  /** Only the assistant audio actually played (no silence between). */
  playedAudio(): Buffer {
    return Buffer.concat(this.playedOnly);
  }

  private readonly playedOnly: Buffer[] = [];

  private tick(): void {
    const now = this.nowMs();
    // Caller side: every frame that is due, in order, with Twilio's string counters.
    while ((this.sentFrames + 1) * FRAME_MS <= now) this.sendCallerFrame();
    // DTMF at its time.
    const dtmf = this.options.dtmf ?? [];
    while (this.dtmfSent < dtmf.length && dtmf[this.dtmfSent]!.atMs <= now) this.pressKey(dtmf[this.dtmfSent++]!.digit);
    // Playout side: one 20 ms slot per frame period.
    while ((this.playedFrames + 1) * FRAME_MS <= now) this.playSlot();
  }

  private sendCallerFrame(): void {
    const index = this.sentFrames++;
    const audio = this.options.callerAudio;
    const startAt = Math.round((this.options.callerAudioAtMs ?? 0) / FRAME_MS);
    const frame = Buffer.alloc(FRAME_BYTES, 0xff);
    if (audio !== undefined && index >= startAt) {
      const offset = (index - startAt) * FRAME_BYTES;
      if (offset < audio.length) frame.set(audio.subarray(offset, Math.min(offset + FRAME_BYTES, audio.length)));
    }
    if (this.options.dropFrame?.(index) === true) return;
    this.stats.framesSent++;
    this.sendJson({
      event: 'media',
      sequenceNumber: String(++this.seq),
      media: {
        track: 'inbound',
        chunk: String(++this.chunk),
        timestamp: String(index * FRAME_MS),
        payload: frame.toString('base64'),
      },
      streamSid: this.streamSid,
    });
  }

  /** Plays one 20 ms slot: first echo marks whose audio has finished, then the next frame (or silence). */
  private playSlot(): void {
    this.playedFrames++;
    this.echoLeadingMarks();
    const head = this.queue[0];
    if (head !== undefined && head.kind === 'audio') {
      this.queue.shift();
      this.heard.push(head.frame);
      this.playedOnly.push(head.frame);
      this.stats.playedMs += FRAME_MS;
      this.playedSinceMarkMs += FRAME_MS;
      if (this.stats.firstAudioAtMs === null) this.stats.firstAudioAtMs = this.playedFrames * FRAME_MS;
    } else {
      this.heard.push(Buffer.alloc(FRAME_BYTES, 0xff));
    }
  }

  private echoLeadingMarks(): void {
    while (this.queue[0]?.kind === 'mark') {
      const entry = this.queue.shift() as { kind: 'mark'; name: string };
      this.lastPlayedMark = entry.name;
      this.playedSinceMarkMs = 0;
      this.echoMark(entry.name, true);
    }
  }

  private echoMark(name: string, played: boolean): void {
    this.stats.marksEchoed++;
    this.sendJson({ event: 'mark', sequenceNumber: String(++this.seq), streamSid: this.streamSid, mark: { name } });
    this.emit('mark', name, played);
  }

  private onMessage(text: string): void {
    let msg: { event?: string; streamSid?: string; media?: { payload?: string }; mark?: { name?: string } };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      this.emit('protocolError', 'not JSON');
      return;
    }
    if (msg.streamSid !== this.streamSid) this.emit('protocolError', `wrong streamSid on ${String(msg.event)}`);
    switch (msg.event) {
      case 'media': {
        const frame = Buffer.from(msg.media?.payload ?? '', 'base64');
        this.stats.framesReceived++;
        this.queue.push({ kind: 'audio', frame });
        this.emit('media', frame);
        break;
      }
      case 'mark': {
        this.stats.marksReceived++;
        const name = msg.mark?.name ?? '';
        // A mark with nothing queued before it comes back at once.
        if (this.queue.length === 0) {
          this.lastPlayedMark = name;
          this.playedSinceMarkMs = 0;
          this.echoMark(name, true);
        } else {
          this.queue.push({ kind: 'mark', name });
        }
        break;
      }
      case 'clear': {
        this.stats.clearsReceived++;
        let droppedMs = 0;
        const cleared: string[] = [];
        for (const entry of this.queue.splice(0)) {
          if (entry.kind === 'audio') droppedMs += FRAME_MS;
          else cleared.push(entry.name);
        }
        const record: ClearRecord = {
          atMs: this.nowMs(),
          lastPlayedMark: this.lastPlayedMark,
          playedSinceMarkMs: this.playedSinceMarkMs,
          droppedMs,
          clearedMarks: cleared,
        };
        this.clears.push(record);
        // Twilio echoes every pending mark when it clears.
        for (const name of cleared) this.echoMark(name, false);
        this.emit('clear', record);
        break;
      }
      default:
        this.emit('protocolError', `unknown event ${String(msg.event)}`);
    }
  }

  private sendJson(msg: object): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private stopLoop(): void {
    if (this.loop !== null) clearInterval(this.loop);
    this.loop = null;
  }
}
