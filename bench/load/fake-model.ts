/**
 * A lean realtime model for the load bench: speaks the GA wire protocol (PROTOCOLS §5.2,
 * §6.4) with real JSON and real base64 in the session's format, but has no VAD and no
 * conversation logic, so one generator core can serve hundreds of sessions. The product's
 * emulator (`src/emulator/`) listens with an energy VAD and paces each response on its own
 * timers, which is the right fake for behaviour tests and too heavy for this.
 *
 * Per connection: `session.created` at once; `session.update` → `session.updated` (the
 * format is taken from `audio.input.format`); `input_audio_buffer.append` is counted (bytes
 * of the decoded base64, mapped back to caller frames by the {@link CallProbe}); every
 * `answerEveryMs` an answer of `answerMs` audio is streamed `speed`× faster than real time:
 * `response.created`, `response.output_item.added`, `conversation.item.added`,
 * `response.content_part.added`, then `response.output_audio.delta` +
 * `response.output_audio_transcript.delta` per delta, then `response.output_audio.done`,
 * `response.output_audio_transcript.done`, `response.content_part.done`,
 * `response.output_item.done`, `conversation.item.done` and `response.done` with usage.
 * `response.create`, `response.cancel`, `conversation.item.truncate` / `.delete` / `.create`
 * are answered as the real API does. Pacing runs on the generator's shared tick.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

import { WebSocketServer, type WebSocket } from 'ws';

import { base64ByteLength } from '../../src/protocol/base64.js';
import type { ModelAudioFormat } from '../../src/protocol/realtime.js';
import type { AnswerMaterial } from './material.js';
import type { CallProbe } from './probe.js';

export interface FakeModelOptions {
  answers: Record<ModelAudioFormat, AnswerMaterial>;
  /** an answer starts this often per call, ms */
  answerEveryMs: number;
  /** streaming speed relative to real time */
  speed: number;
  /** the probe of the call whose bridge connection arrives next; null = unexpected connection */
  claimProbe: () => CallProbe | null;
}

export interface ModelCounters {
  connections: number;
  /** connections that no dialling phone was waiting for (e.g. a bridge reconnect) */
  unexpectedConnections: number;
  /** connections closed before the bench hung up */
  closedEarly: number;
  responses: number;
  /** client events that were not JSON, had an unknown type or a wrong shape */
  badClientEvents: number;
  /** sessions whose format differed from the run's mode */
  wrongFormat: number;
}

interface ActiveResponse {
  id: string;
  itemId: string;
  answer: AnswerMaterial;
  next: number;
  nextAtMs: number;
}

let idCounter = 0;
const nextId = (prefix: string) => `${prefix}_${(++idCounter).toString(36).padStart(8, '0')}`;

class ModelConnection {
  format: ModelAudioFormat = 'pcm16';
  private sessionUpdated = false;
  private response: ActiveResponse | null = null;
  nextAnswerAtMs = Number.POSITIVE_INFINITY;
  closed = false;
  private readonly sessionId = nextId('sess');

  constructor(
    private readonly ws: WebSocket,
    readonly probe: CallProbe | null,
    private readonly model: FakeRealtimeModel,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    this.send(`{"type":"session.created","event_id":"${nextId('event')}","session":${this.sessionJson()}}`);
  }

  get responding(): boolean {
    return this.response !== null;
  }

  private sessionJson(): string {
    const format = this.format === 'pcm16' ? '{"type":"audio/pcm","rate":24000}' : '{"type":"audio/pcmu"}';
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    return (
      `{"object":"realtime.session","type":"realtime","id":"${this.sessionId}","model":"gpt-realtime",` +
      `"expires_at":${expiresAt},"output_modalities":["audio"],"instructions":"",` +
      `"audio":{"input":{"format":${format},"transcription":null,` +
      '"turn_detection":{"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":500,' +
      '"create_response":true,"interrupt_response":true}},' +
      `"output":{"format":${format},"voice":"alloy","speed":1}},"tools":[],"tool_choice":"auto"}`
    );
  }

  private send(text: string): void {
    if (!this.closed) this.ws.send(text);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    const now = performance.now();
    const counters = this.model.counters;
    if (isBinary) {
      counters.badClientEvents++;
      return;
    }
    // The bridge's appends, byte for byte as it writes them, are counted without decoding
    // the text: the prefix, one closing quote at the end, and the base64 length in between.
    const end = data.length - 2;
    if (
      end > APPEND_PREFIX.length &&
      data[end] === QUOTE &&
      data[end + 1] === CLOSE_BRACE &&
      data.indexOf(QUOTE, APPEND_PREFIX.length) === end &&
      data.subarray(0, APPEND_PREFIX.length).equals(APPEND_PREFIX)
    ) {
      this.probe?.audioReceived(
        base64BytesIn(data, APPEND_PREFIX.length, end),
        this.format === 'pcm16' ? 960 : 160,
        now,
      );
      return;
    }
    let event: {
      type?: unknown;
      audio?: unknown;
      session?: { audio?: { input?: { format?: { type?: unknown } } } };
      item_id?: unknown;
      content_index?: unknown;
      audio_end_ms?: unknown;
    };
    try {
      event = JSON.parse(data.toString('utf8')) as typeof event;
    } catch {
      counters.badClientEvents++;
      return;
    }
    switch (event.type) {
      case 'input_audio_buffer.append': {
        if (typeof event.audio !== 'string') {
          counters.badClientEvents++;
          return;
        }
        const bytes = base64ByteLength(event.audio);
        this.probe?.audioReceived(bytes, this.format === 'pcm16' ? 960 : 160, now);
        return;
      }
      case 'session.update': {
        const type = event.session?.audio?.input?.format?.type;
        if (type === 'audio/pcmu') this.format = 'pcmu';
        else if (type === 'audio/pcm') this.format = 'pcm16';
        if (this.format !== this.model.mode) counters.wrongFormat++;
        this.send(`{"type":"session.updated","event_id":"${nextId('event')}","session":${this.sessionJson()}}`);
        if (!this.sessionUpdated) {
          this.sessionUpdated = true;
          // Spread the calls' answers over the period (golden-ratio phases), first one ≥ 1 s in.
          const phase = ((this.probe?.index ?? 0) * 0.618034) % 1;
          this.nextAnswerAtMs = now + 1000 + phase * this.model.options.answerEveryMs;
        }
        return;
      }
      case 'response.create':
        if (this.response !== null) {
          this.sendError(
            'invalid_request_error',
            'conversation_already_has_active_response',
            'Conversation already has an active response in progress.',
          );
        } else {
          this.startAnswer(now);
        }
        return;
      case 'response.cancel':
        if (this.response === null) {
          this.sendError(
            'invalid_request_error',
            'response_cancel_not_active',
            'Cancellation failed: no active response found',
          );
        } else {
          this.finishAnswer('cancelled');
        }
        return;
      case 'conversation.item.truncate':
        this.send(
          `{"type":"conversation.item.truncated","event_id":"${nextId('event')}",` +
            `"item_id":${JSON.stringify(event.item_id)},"content_index":${Number(event.content_index)},` +
            `"audio_end_ms":${Number(event.audio_end_ms)}}`,
        );
        return;
      case 'conversation.item.delete':
        this.send(
          `{"type":"conversation.item.deleted","event_id":"${nextId('event')}",` +
            `"item_id":${JSON.stringify(event.item_id)}}`,
        );
        return;
      case 'conversation.item.create':
      case 'input_audio_buffer.commit':
      case 'input_audio_buffer.clear':
        return;
      default:
        counters.badClientEvents++;
    }
  }

  private sendError(type: string, code: string, message: string): void {
    this.send(
      `{"type":"error","event_id":"${nextId('event')}",` +
        `"error":{"type":"${type}","code":"${code}","message":"${message}","param":null,"event_id":null}}`,
    );
  }

  /** Starts an answer if one is due; streams the deltas that are due. */
  tick(now: number): void {
    if (this.closed) return;
    if (this.response === null && now >= this.nextAnswerAtMs && !this.model.stopping) this.startAnswer(now);
    const r = this.response;
    if (r === null) return;
    const answer = r.answer;
    while (r.next < answer.deltasB64.length && r.nextAtMs <= now) {
      const i = r.next++;
      const ids = `"response_id":"${r.id}","item_id":"${r.itemId}","output_index":0,"content_index":0`;
      this.probe?.framesAvailable(answer.framesPerDelta[i]!, performance.now());
      this.send(
        `{"type":"response.output_audio.delta","event_id":"${nextId('event')}",${ids},` +
          `"delta":"${answer.deltasB64[i]}"}`,
      );
      this.send(
        `{"type":"response.output_audio_transcript.delta","event_id":"${nextId('event')}",${ids},` +
          `"delta":${JSON.stringify(answer.transcriptDeltas[i])}}`,
      );
      r.nextAtMs += answer.deltaMs[i]! / this.model.options.speed;
    }
    if (r.next >= answer.deltasB64.length) this.finishAnswer('completed');
  }

  private startAnswer(now: number): void {
    const answer = this.model.options.answers[this.format];
    const r: ActiveResponse = { id: nextId('resp'), itemId: nextId('item'), answer, next: 0, nextAtMs: now };
    this.response = r;
    this.nextAnswerAtMs = now + this.model.options.answerEveryMs;
    this.model.counters.responses++;
    const item =
      `{"id":"${r.itemId}","object":"realtime.item","type":"message","status":"in_progress",` +
      '"role":"assistant","content":[]}';
    this.send(
      `{"type":"response.created","event_id":"${nextId('event')}",` +
        `"response":{"object":"realtime.response","id":"${r.id}","status":"in_progress","status_details":null,` +
        '"output":[],"usage":null}}',
    );
    this.send(
      `{"type":"response.output_item.added","event_id":"${nextId('event')}","response_id":"${r.id}",` +
        `"output_index":0,"item":${item}}`,
    );
    this.send(
      `{"type":"conversation.item.added","event_id":"${nextId('event')}","previous_item_id":null,"item":${item}}`,
    );
    this.send(
      `{"type":"response.content_part.added","event_id":"${nextId('event')}","response_id":"${r.id}",` +
        `"item_id":"${r.itemId}","output_index":0,"content_index":0,"part":{"type":"audio","transcript":""}}`,
    );
  }

  private finishAnswer(status: 'completed' | 'cancelled'): void {
    const r = this.response;
    if (r === null) return;
    this.response = null;
    const ids = `"response_id":"${r.id}","item_id":"${r.itemId}","output_index":0,"content_index":0`;
    const transcript = JSON.stringify(r.answer.transcript);
    // The bridge flushes its transcoder on audio.done: the tail frames become available now.
    if (status === 'completed') this.probe?.framesAvailable(r.answer.tailFrames, performance.now());
    this.send(`{"type":"response.output_audio.done","event_id":"${nextId('event')}",${ids}}`);
    this.send(
      `{"type":"response.output_audio_transcript.done","event_id":"${nextId('event')}",${ids},` +
        `"transcript":${transcript}}`,
    );
    this.send(
      `{"type":"response.content_part.done","event_id":"${nextId('event')}",${ids},` +
        `"part":{"type":"audio","transcript":${transcript}}}`,
    );
    const item =
      `{"id":"${r.itemId}","object":"realtime.item","type":"message",` +
      `"status":"${status === 'completed' ? 'completed' : 'incomplete'}","role":"assistant",` +
      `"content":[{"type":"output_audio","transcript":${transcript}}]}`;
    this.send(
      `{"type":"response.output_item.done","event_id":"${nextId('event')}","response_id":"${r.id}",` +
        `"output_index":0,"item":${item}}`,
    );
    this.send(
      `{"type":"conversation.item.done","event_id":"${nextId('event')}","previous_item_id":null,"item":${item}}`,
    );
    const details = status === 'cancelled' ? '{"type":"cancelled","reason":"client_cancelled"}' : 'null';
    this.send(
      `{"type":"response.done","event_id":"${nextId('event')}",` +
        `"response":{"object":"realtime.response","id":"${r.id}","status":"${status}","status_details":${details},` +
        `"output":[${item}],"usage":{"total_tokens":180,"input_tokens":80,"output_tokens":100,` +
        '"input_token_details":{"text_tokens":20,"audio_tokens":60,"cached_tokens":0},' +
        '"output_token_details":{"text_tokens":25,"audio_tokens":75}}}}',
    );
  }
}

const APPEND_PREFIX = Buffer.from('{"type":"input_audio_buffer.append","audio":"');
const QUOTE = 0x22;
const CLOSE_BRACE = 0x7d;
const EQUALS = 0x3d;

/** Decoded length of the padded base64 in `bytes[start, end)`. */
function base64BytesIn(bytes: Buffer, start: number, end: number): number {
  const n = end - start;
  const padding = n > 0 && bytes[end - 1] === EQUALS ? (bytes[end - 2] === EQUALS ? 2 : 1) : 0;
  return Math.floor(n / 4) * 3 - padding;
}

export class FakeRealtimeModel {
  readonly counters: ModelCounters = {
    connections: 0,
    unexpectedConnections: 0,
    closedEarly: 0,
    responses: 0,
    badClientEvents: 0,
    wrongFormat: 0,
  };
  readonly connections: ModelConnection[] = [];
  /** no new answers start once true (the bench is winding down) */
  stopping = false;
  /** the bench is hanging up: closes from here on are expected */
  hangingUp = false;
  private readonly wss: WebSocketServer;

  private constructor(
    readonly options: FakeModelOptions,
    readonly mode: ModelAudioFormat,
    wss: WebSocketServer,
  ) {
    this.wss = wss;
    wss.on('connection', (ws: WebSocket, req: IncomingMessage) => this.onConnection(ws, req));
  }

  /** Listens on 127.0.0.1 (a free port); the URL is `ws://127.0.0.1:<port>/v1/realtime`. */
  static async listen(options: FakeModelOptions, mode: ModelAudioFormat): Promise<FakeRealtimeModel> {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      perMessageDeflate: false,
      maxPayload: 16 * 1024 * 1024,
    });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    return new FakeRealtimeModel(options, mode, wss);
  }

  get port(): number {
    return (this.wss.address() as AddressInfo).port;
  }

  get openConnections(): number {
    return this.connections.filter((c) => !c.closed).length;
  }

  get activeResponses(): number {
    return this.connections.filter((c) => c.responding).length;
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    if (!(req.url ?? '').startsWith('/v1/realtime')) {
      ws.close(1008, 'unknown path');
      return;
    }
    this.counters.connections++;
    const probe = this.options.claimProbe();
    if (probe === null) this.counters.unexpectedConnections++;
    const conn = new ModelConnection(ws, probe, this);
    this.connections.push(conn);
    ws.on('close', () => {
      conn.closed = true;
      if (!this.hangingUp) this.counters.closedEarly++;
    });
    ws.on('error', () => {
      conn.closed = true;
    });
  }

  tick(now: number): void {
    for (const conn of this.connections) conn.tick(now);
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
