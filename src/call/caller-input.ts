/**
 * The caller's audio on its way to the model (SPEC §6.1–6.2): gaps in Twilio's media clock
 * filled with silence, transcoding to the model's format, and a bounded buffer for the time
 * the model is not connected (start-up, reconnect). Pure.
 *
 * Every frame leaves at once: while the model is connected, each Twilio frame becomes its own
 * chunk to append, in the same `handle` call; nothing waits for a partner frame. Merging
 * appends that pile up behind a busy socket is the realtime link's business (it alone knows
 * when a write is in flight).
 */
import { createCallerToModel, type CallerToModel } from '../audio/transcoder.js';
import type { ModelAudioFormat } from '../protocol/realtime.js';
import type { CallCommand } from './events.js';

/** Twilio's μ-law is 8 kHz, one byte per sample. */
const MULAW_BYTES_PER_MS = 8;
/** The shortest gap worth filling: one Twilio frame. */
const FRAME_MS = 20;

export interface CallerInputOptions {
  modelAudio: ModelAudioFormat;
  /** bytes of model-format audio per ms (48 for PCM16 24 kHz, 8 for μ-law) */
  modelBytesPerMs: number;
  /** audio held while the model is not connected; older audio is dropped beyond it */
  maxBufferedInputMs: number;
  /** largest `media.timestamp` gap filled with silence; a bigger jump is a clock reset */
  maxGapFillMs: number;
}

export class CallerInput {
  private readonly transcoder: CallerToModel;
  private online = false;
  private nextTimestampMs: number | null = null;
  private held: Uint8Array[] = [];
  private heldMs = 0;
  private droppedMs = 0;

  constructor(private readonly options: CallerInputOptions) {
    this.transcoder = createCallerToModel(options.modelAudio);
  }

  /** ms of caller audio dropped so far because the model was away too long. */
  get droppedInputMs(): number {
    return this.droppedMs;
  }

  /**
   * One Twilio `media` payload at its media-clock time: while the model is connected, its
   * `model.appendAudio` (after the silence of a gap) goes to `out` now; else it is held. The
   * first time held audio must be dropped, a warning goes to `out`.
   */
  frame(timestampMs: number, mulaw: Buffer, out: CallCommand[]): void {
    if (mulaw.length === 0) return;
    // Twilio may skip silent frames: fill the gap so the model's VAD hears the silence and
    // closes the turn, and its audio clock stays in line with Twilio's.
    if (this.nextTimestampMs !== null) {
      const gapMs = timestampMs - this.nextTimestampMs;
      if (gapMs >= FRAME_MS && gapMs <= this.options.maxGapFillMs) {
        this.take(Buffer.alloc(gapMs * MULAW_BYTES_PER_MS, 0xff), out);
      }
    }
    this.nextTimestampMs = Math.max(this.nextTimestampMs ?? 0, timestampMs + mulaw.length / MULAW_BYTES_PER_MS);
    this.take(mulaw, out);
  }

  /** The model is connected (again): everything held while it was not goes to `out`, oldest first. */
  connected(out: CallCommand[]): void {
    this.online = true;
    for (const audio of this.held) out.push({ type: 'model.appendAudio', audio });
    this.held = [];
    this.heldMs = 0;
  }

  /** The model is gone (dropped, closed, failed): caller audio is held from now on. */
  disconnected(): void {
    this.online = false;
  }

  private take(mulaw: Buffer, out: CallCommand[]): void {
    const audio = this.transcoder.push(mulaw);
    if (audio.length === 0) return;
    if (this.online) {
      out.push({ type: 'model.appendAudio', audio });
      return;
    }
    this.held.push(audio);
    this.heldMs += audio.length / this.options.modelBytesPerMs;
    while (this.heldMs > this.options.maxBufferedInputMs && this.held.length > 1) {
      const ms = this.held.shift()!.length / this.options.modelBytesPerMs;
      this.heldMs -= ms;
      if (this.droppedMs === 0) {
        const fields = { bufferMs: this.options.maxBufferedInputMs };
        out.push({ type: 'log', level: 'warn', msg: 'caller audio dropped while the model is unavailable', fields });
      }
      this.droppedMs += ms;
    }
  }
}
