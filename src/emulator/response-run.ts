/**
 * One response of the emulator, streamed on the injected clock in the documented order
 * (PROTOCOLS §6.4; Azure how-to "Text in audio out example"):
 *
 * ```
 * response.created → rate_limits.updated
 * per output item:
 *   message:  response.output_item.added → conversation.item.added → response.content_part.added
 *             → (response.output_audio_transcript.delta | response.output_audio.delta)*   [audio]
 *               or response.output_text.delta*                                           [text]
 *             → response.output_audio.done → response.output_audio_transcript.done      [audio]
 *               or response.output_text.done                                             [text]
 *             → response.content_part.done → response.output_item.done → conversation.item.done
 *   function: response.output_item.added → conversation.item.added
 *             → response.function_call_arguments.delta* → response.function_call_arguments.done
 *             → response.output_item.done → conversation.item.done
 *   mcp call: response.output_item.added → conversation.item.added
 *             → response.mcp_call_arguments.delta* → response.mcp_call_arguments.done
 *             → response.mcp_call.in_progress → (the emulator calls the MCP server)
 *             → response.mcp_call.completed | .failed → response.output_item.done → conversation.item.done
 * response.done (with usage)
 * ```
 * Events are GA-shaped; the session translates them for beta connections (where
 * `conversation.item.added` is sent as `.created` and `conversation.item.done` is not sent).
 *
 * Audio is cut into deltas of uneven size (seeded; odd byte counts occur for PCM16) and sent
 * ahead of real time by the pacing `speed`. `cancel()` stops the stream at once and closes
 * the open part and item before `response.done` with `status: "cancelled"`.
 */
import { modelAudioBytesPerMs } from '../protocol/realtime.js';
import type { WireObject } from '../protocol/wire-object.js';
import type { Clock, TimerHandle } from '../util/clock.js';

import type { EmulatorAudioFormat } from './audio-convert.js';
import type { McpCallResult } from './mcp-client.js';
import type { SeededRandom } from './random.js';
import type { Pacing } from './responder.js';

/** What one response says, in order. */
export type ResponseSegment =
  | { kind: 'audio'; audio: Buffer; format: EmulatorAudioFormat; transcript: string }
  | { kind: 'text'; text: string }
  | { kind: 'functionCall'; name: string; arguments: string; callId: string }
  /** a tool of a `type: "mcp"` server, called by the emulator itself */
  | { kind: 'mcpCall'; serverLabel: string; name: string; arguments: string };

/** The session's side of a running response. */
export interface ResponseHost {
  readonly clock: Clock;
  /** sends a GA-shaped server event (the host adds `event_id` and translates the dialect) */
  emit(event: WireObject): void;
  newId(prefix: string): string;
  /** adds an output item to the conversation; returns its previous item id, or undefined when out of band */
  addOutputItem(item: WireObject, audioFormat: EmulatorAudioFormat | null): string | null | undefined;
  /** more audio of an output item went out (ms in total so far) */
  outputAudioSent(itemId: string, totalMs: number): void;
  /** the output item is final (status, transcript/arguments) */
  outputItemDone(item: WireObject): void;
  /** tokens of the conversation so far, for `usage.input_tokens` */
  inputTokens(): { text: number; audio: number };
  /** the response is over (done, cancelled or aborted) */
  finished(run: ResponseRun): void;
  /** calls a tool of an MCP server (never rejects) */
  callMcp(serverLabel: string, name: string, argumentsJson: string): Promise<McpCallResult>;
}

/** What one response streams and how. */
export interface ResponseRunInit {
  id: string;
  segments: ResponseSegment[];
  pacing: Required<Pacing>;
  /** response object fields echoed in response.created/done (output_modalities, audio, conversation_id, metadata, …) */
  responseFields: WireObject;
  outOfBand: boolean;
  /** a failed response instead of any output */
  fail?: { code: string; message: string };
  rng: SeededRandom;
}

/** Model time per word of text-only output: fast, as the real API streams text. */
const TEXT_MS_PER_WORD = 30;
/** Model time between function-argument deltas. */
const ARGUMENT_DELTA_MS = 20;
/** Audio tokens per second of output audio, for the usage estimate (the API bills ~20 tokens/s of audio out). */
const AUDIO_TOKENS_PER_S = 20;
/** Characters per text token, for the usage estimate. */
const CHARS_PER_TOKEN = 4;

interface Step {
  /** model time from the response start */
  atMs: number;
  /** a promise holds the steps after it until it settles (an MCP call) */
  run: () => void | Promise<void>;
}

interface OpenMessage {
  kind: 'audio' | 'text';
  item: WireObject;
  itemId: string;
  outputIndex: number;
  partOpen: boolean;
  sentBytes: number;
  format: EmulatorAudioFormat | null;
  /** transcript or text sent so far */
  sentText: string;
}

/** Splits `text` into deltas that concatenate back to it: words with their following space. */
export function textDeltas(text: string): string[] {
  const parts = text.match(/\S+\s*/g) ?? [];
  const leading = text.match(/^\s+/)?.[0] ?? '';
  if (leading !== '' && parts.length > 0) parts[0] = leading + parts[0]!;
  return parts;
}

/** Where streamed arguments are cut: three uneven pieces (or fewer for short ones), like a model streaming JSON. */
function argumentCuts(args: string): number[] {
  return [Math.floor(args.length / 3), Math.floor((args.length * 3) / 4), args.length].filter(
    (c, i, a) => c > 0 && a.indexOf(c) === i,
  );
}

/** One response in flight: `start()`, then it finishes by itself, or `cancel()` / `abort()`. */
export class ResponseRun {
  readonly id: string;
  private readonly host: ResponseHost;
  private readonly init: ResponseRunInit;
  private readonly steps: Step[] = [];
  private stepIndex = 0;
  private startedAtMs = 0;
  private timer: TimerHandle | null = null;
  private open: OpenMessage | null = null;
  /** a function call item announced but not yet done */
  private openCall: { item: WireObject; outputIndex: number } | null = null;
  private readonly output: WireObject[] = [];
  private state: 'pending' | 'running' | 'over' = 'pending';
  private outputAudioMs = 0;
  private outputTextChars = 0;

  constructor(host: ResponseHost, init: ResponseRunInit) {
    this.host = host;
    this.init = init;
    this.id = init.id;
  }

  get active(): boolean {
    return this.state === 'running';
  }

  private responseObject(status: string, statusDetails: WireObject | null, usage: WireObject | null): WireObject {
    return {
      object: 'realtime.response',
      id: this.id,
      status,
      status_details: statusDetails,
      output: status === 'in_progress' ? [] : structuredClone(this.output),
      ...this.init.responseFields,
      usage,
    };
  }

  /** Sends response.created and starts streaming. */
  start(): void {
    this.state = 'running';
    this.startedAtMs = this.host.clock.now();
    this.host.emit({ type: 'response.created', response: this.responseObject('in_progress', null, null) });
    this.host.emit({
      type: 'rate_limits.updated',
      rate_limits: [
        { name: 'requests', limit: 5000, remaining: 4999, reset_seconds: 0.012 },
        { name: 'tokens', limit: 400000, remaining: 394000, reset_seconds: 0.9 },
      ],
    });
    this.plan();
    this.schedule();
  }

  private plan(): void {
    let t = this.init.pacing.firstDeltaDelayMs;
    if (this.init.fail !== undefined) {
      const fail = this.init.fail;
      this.steps.push({
        atMs: t,
        run: () =>
          this.finish('failed', {
            type: 'failed',
            error: { type: 'server_error', code: fail.code, message: fail.message },
          }),
      });
      return;
    }
    this.init.segments.forEach((segment, outputIndex) => {
      if (segment.kind === 'audio') t = this.planAudio(segment, outputIndex, t);
      else if (segment.kind === 'text') t = this.planText(segment.text, outputIndex, t);
      else if (segment.kind === 'functionCall') t = this.planFunctionCall(segment, outputIndex, t);
      else t = this.planMcpCall(segment, outputIndex, t);
    });
    this.steps.push({ atMs: t, run: () => this.finish('completed', null) });
  }

  private openMessage(kind: 'audio' | 'text', outputIndex: number, format: EmulatorAudioFormat | null): void {
    const itemId = this.host.newId('item_');
    const item: WireObject = {
      id: itemId,
      object: 'realtime.item',
      type: 'message',
      status: 'in_progress',
      role: 'assistant',
      content: [],
    };
    this.host.emit({
      type: 'response.output_item.added',
      response_id: this.id,
      output_index: outputIndex,
      item: structuredClone(item),
    });
    const previous = this.host.addOutputItem(structuredClone(item), format);
    if (previous !== undefined)
      this.host.emit({ type: 'conversation.item.added', previous_item_id: previous, item: structuredClone(item) });
    this.open = { kind, item, itemId, outputIndex, partOpen: true, sentBytes: 0, format, sentText: '' };
    const part = kind === 'audio' ? { type: 'audio', transcript: '' } : { type: 'text', text: '' };
    this.host.emit({ type: 'response.content_part.added', ...this.ids(), part });
  }

  private ids(): WireObject {
    const open = this.open!;
    return { response_id: this.id, item_id: open.itemId, output_index: open.outputIndex, content_index: 0 };
  }

  private sendText(delta: string): void {
    const open = this.open!;
    open.sentText += delta;
    this.outputTextChars += delta.length;
    const type = open.kind === 'audio' ? 'response.output_audio_transcript.delta' : 'response.output_text.delta';
    this.host.emit({ type, ...this.ids(), delta });
  }

  private planAudio(segment: Extract<ResponseSegment, { kind: 'audio' }>, outputIndex: number, t0: number): number {
    const { audio, format, transcript } = segment;
    const perMs = modelAudioBytesPerMs(format);
    const { minDeltaMs, maxDeltaMs } = this.init.pacing;
    const cuts: number[] = [];
    for (let pos = 0; pos < audio.length;) {
      let n = Math.round(this.init.rng.int(minDeltaMs, maxDeltaMs) * perMs);
      // Split a sample now and then: real deltas need not hold whole PCM16 samples.
      if (format === 'pcm16' && this.init.rng.next() < 0.5) n += 1;
      n = Math.max(1, Math.min(n, audio.length - pos));
      cuts.push(n);
      pos += n;
    }
    const totalMs = audio.length / perMs;
    const words = textDeltas(transcript);
    let wordsSent = 0;
    const sendWordsUntil = (ms: number): void => {
      const due = totalMs <= 0 ? words.length : Math.min(words.length, Math.ceil((ms / totalMs) * words.length));
      for (; wordsSent < due; wordsSent++) this.sendText(words[wordsSent]!);
    };

    this.steps.push({ atMs: t0, run: () => this.openMessage('audio', outputIndex, format) });
    let offset = 0;
    for (const n of cuts) {
      const start = offset;
      offset += n;
      const endMs = offset / perMs;
      this.steps.push({
        atMs: t0 + start / perMs,
        run: () => {
          // The transcript runs slightly ahead of the audio, as it does upstream.
          sendWordsUntil(endMs);
          const open = this.open!;
          this.host.emit({
            type: 'response.output_audio.delta',
            ...this.ids(),
            delta: audio.subarray(start, start + n).toString('base64'),
          });
          open.sentBytes += n;
          this.outputAudioMs += n / perMs;
          this.host.outputAudioSent(open.itemId, open.sentBytes / perMs);
        },
      });
    }
    this.steps.push({
      atMs: t0 + totalMs,
      run: () => {
        sendWordsUntil(totalMs);
        this.closeMessage('completed');
      },
    });
    return t0 + totalMs;
  }

  private planText(text: string, outputIndex: number, t0: number): number {
    const words = textDeltas(text);
    this.steps.push({ atMs: t0, run: () => this.openMessage('text', outputIndex, null) });
    words.forEach((word, i) => this.steps.push({ atMs: t0 + i * TEXT_MS_PER_WORD, run: () => this.sendText(word) }));
    const end = t0 + words.length * TEXT_MS_PER_WORD;
    this.steps.push({ atMs: end, run: () => this.closeMessage('completed') });
    return end;
  }

  /** Schedules the argument deltas (cut at `cuts`, one every ARGUMENT_DELTA_MS from `t0`); returns when they end. */
  private argumentDeltas(args: string, cuts: number[], t0: number, emit: (delta: string) => void): number {
    let from = 0;
    cuts.forEach((cut, i) => {
      const delta = args.slice(from, cut);
      from = cut;
      this.steps.push({ atMs: t0 + (i + 1) * ARGUMENT_DELTA_MS, run: () => emit(delta) });
    });
    return t0 + (cuts.length + 1) * ARGUMENT_DELTA_MS;
  }

  /** Closes the open part and item (normally, or cut short by a cancel). */
  private closeMessage(status: 'completed' | 'incomplete'): void {
    const open = this.open;
    if (open === null) return;
    if (open.partOpen) {
      if (open.kind === 'audio') {
        this.host.emit({ type: 'response.output_audio.done', ...this.ids() });
        this.host.emit({ type: 'response.output_audio_transcript.done', ...this.ids(), transcript: open.sentText });
        this.host.emit({
          type: 'response.content_part.done',
          ...this.ids(),
          part: { type: 'audio', transcript: open.sentText },
        });
      } else {
        this.host.emit({ type: 'response.output_text.done', ...this.ids(), text: open.sentText });
        this.host.emit({
          type: 'response.content_part.done',
          ...this.ids(),
          part: { type: 'text', text: open.sentText },
        });
      }
      open.partOpen = false;
    }
    const content =
      open.kind === 'audio'
        ? [{ type: 'output_audio', transcript: open.sentText }]
        : [{ type: 'output_text', text: open.sentText }];
    const item: WireObject = { ...open.item, status, content };
    this.output.push(item);
    this.host.emit({
      type: 'response.output_item.done',
      response_id: this.id,
      output_index: open.outputIndex,
      item: structuredClone(item),
    });
    this.host.outputItemDone(structuredClone(item));
    if (!this.init.outOfBand) this.host.emit({ type: 'conversation.item.done', item: structuredClone(item) });
    this.open = null;
  }

  private planFunctionCall(
    segment: Extract<ResponseSegment, { kind: 'functionCall' }>,
    outputIndex: number,
    t0: number,
  ): number {
    const itemId = this.host.newId('item_');
    const base: WireObject = {
      id: itemId,
      object: 'realtime.item',
      type: 'function_call',
      call_id: segment.callId,
      name: segment.name,
    };
    const args = segment.arguments;
    const cuts = argumentCuts(args);
    const ids = { response_id: this.id, item_id: itemId, output_index: outputIndex, call_id: segment.callId };
    this.steps.push({
      atMs: t0,
      run: () => {
        const item = { ...base, status: 'in_progress', arguments: '' };
        this.openCall = { item, outputIndex };
        this.host.emit({
          type: 'response.output_item.added',
          response_id: this.id,
          output_index: outputIndex,
          item: structuredClone(item),
        });
        const previous = this.host.addOutputItem(structuredClone(item), null);
        if (previous !== undefined)
          this.host.emit({ type: 'conversation.item.added', previous_item_id: previous, item: structuredClone(item) });
      },
    });
    const end = this.argumentDeltas(args, cuts, t0, (delta) =>
      this.host.emit({ type: 'response.function_call_arguments.delta', ...ids, delta }),
    );
    this.steps.push({
      atMs: end,
      run: () => {
        this.outputTextChars += args.length;
        this.host.emit({ type: 'response.function_call_arguments.done', ...ids, name: segment.name, arguments: args });
        const item = { ...base, status: 'completed', arguments: args };
        this.openCall = null;
        this.output.push(item);
        this.host.emit({
          type: 'response.output_item.done',
          response_id: this.id,
          output_index: outputIndex,
          item: structuredClone(item),
        });
        this.host.outputItemDone(structuredClone(item));
        if (!this.init.outOfBand) this.host.emit({ type: 'conversation.item.done', item: structuredClone(item) });
      },
    });
    return end;
  }

  private planMcpCall(segment: Extract<ResponseSegment, { kind: 'mcpCall' }>, outputIndex: number, t0: number): number {
    const itemId = this.host.newId('item_');
    const base: WireObject = {
      id: itemId,
      type: 'mcp_call',
      server_label: segment.serverLabel,
      name: segment.name,
      approval_request_id: null,
    };
    const args = segment.arguments;
    const ids = { response_id: this.id, item_id: itemId, output_index: outputIndex };
    this.steps.push({
      atMs: t0,
      run: () => {
        const item = { ...base, arguments: '', output: null, error: null };
        this.openCall = { item, outputIndex };
        this.host.emit({ type: 'response.output_item.added', ...ids, item: structuredClone(item) });
        const previous = this.host.addOutputItem(structuredClone(item), null);
        if (previous !== undefined)
          this.host.emit({ type: 'conversation.item.added', previous_item_id: previous, item: structuredClone(item) });
      },
    });
    const end = this.argumentDeltas(args, argumentCuts(args), t0, (delta) =>
      this.host.emit({ type: 'response.mcp_call_arguments.delta', ...ids, delta }),
    );
    this.steps.push({
      atMs: end,
      run: async () => {
        this.outputTextChars += args.length;
        this.host.emit({ type: 'response.mcp_call_arguments.done', ...ids, arguments: args });
        this.host.emit({ type: 'response.mcp_call.in_progress', item_id: itemId, output_index: outputIndex });
        const result = await this.host.callMcp(segment.serverLabel, segment.name, args);
        if (this.state !== 'running') return;
        const failed = 'error' in result;
        this.host.emit({
          type: failed ? 'response.mcp_call.failed' : 'response.mcp_call.completed',
          item_id: itemId,
          output_index: outputIndex,
        });
        const item = {
          ...base,
          arguments: args,
          output: failed ? null : result.output,
          error: failed ? result.error : null,
        };
        this.openCall = null;
        this.output.push(item);
        this.host.emit({ type: 'response.output_item.done', ...ids, item: structuredClone(item) });
        this.host.outputItemDone(structuredClone(item));
        if (!this.init.outOfBand) this.host.emit({ type: 'conversation.item.done', item: structuredClone(item) });
      },
    });
    return end;
  }

  private schedule(): void {
    if (this.state !== 'running') return;
    const step = this.steps[this.stepIndex];
    if (step === undefined) return;
    const speed = this.init.pacing.speed;
    const dueAt = this.startedAtMs + (Number.isFinite(speed) && speed > 0 ? step.atMs / speed : 0);
    this.timer = this.host.clock.setTimer(dueAt - this.host.clock.now(), () => {
      this.timer = null;
      this.tick();
    });
  }

  /** Runs every step that is due, then waits for the next. */
  private tick(): void {
    const speed = this.init.pacing.speed;
    const elapsedModelMs =
      Number.isFinite(speed) && speed > 0
        ? (this.host.clock.now() - this.startedAtMs) * speed
        : Number.POSITIVE_INFINITY;
    let ran = 0;
    while (this.state === 'running' && this.stepIndex < this.steps.length) {
      const step = this.steps[this.stepIndex]!;
      // With infinite speed, still yield after a few steps so a cancel can get in between.
      if (step.atMs > elapsedModelMs || (!Number.isFinite(elapsedModelMs) && ran >= 4)) break;
      this.stepIndex++;
      ran++;
      const pending = step.run();
      if (pending !== undefined) {
        // the next steps wait for it; their times have passed by then, so they follow at once
        void pending.then(() => this.tick());
        return;
      }
    }
    this.schedule();
  }

  private finish(status: 'completed' | 'cancelled' | 'failed', statusDetails: WireObject | null): void {
    if (this.state !== 'running') return;
    this.state = 'over';
    if (this.timer !== null) this.host.clock.clearTimer(this.timer);
    this.timer = null;
    const input = this.host.inputTokens();
    const textOut = Math.ceil(this.outputTextChars / CHARS_PER_TOKEN);
    const audioOut = Math.ceil((this.outputAudioMs / 1000) * AUDIO_TOKENS_PER_S);
    const inputTotal = input.text + input.audio;
    const usage = {
      total_tokens: inputTotal + textOut + audioOut,
      input_tokens: inputTotal,
      output_tokens: textOut + audioOut,
      input_token_details: {
        text_tokens: input.text,
        audio_tokens: input.audio,
        cached_tokens: 0,
        cached_tokens_details: { text_tokens: 0, audio_tokens: 0 },
      },
      output_token_details: { text_tokens: textOut, audio_tokens: audioOut },
    };
    this.host.emit({ type: 'response.done', response: this.responseObject(status, statusDetails, usage) });
    this.host.finished(this);
  }

  /** Stops the stream; closes what is open; `response.done` with `status: "cancelled"`. */
  cancel(reason: 'turn_detected' | 'client_cancelled'): void {
    if (this.state !== 'running') return;
    if (this.timer !== null) this.host.clock.clearTimer(this.timer);
    this.timer = null;
    this.closeMessage('incomplete');
    const call = this.openCall;
    if (call !== null) {
      const item = { ...call.item, status: 'incomplete' };
      this.output.push(item);
      this.host.emit({
        type: 'response.output_item.done',
        response_id: this.id,
        output_index: call.outputIndex,
        item: structuredClone(item),
      });
      this.host.outputItemDone(structuredClone(item));
      if (!this.init.outOfBand) this.host.emit({ type: 'conversation.item.done', item: structuredClone(item) });
      this.openCall = null;
    }
    this.finish('cancelled', { type: 'cancelled', reason });
  }

  /** The socket is gone: stop without sending anything. */
  abort(): void {
    if (this.timer !== null) this.host.clock.clearTimer(this.timer);
    this.timer = null;
    if (this.state === 'running') {
      this.state = 'over';
      this.host.finished(this);
    }
  }
}
