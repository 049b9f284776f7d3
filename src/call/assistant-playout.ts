/**
 * What goes out to the caller (SPEC §6.3): the model's audio deltas as 20 ms μ-law frames
 * with a mark after every few frames and at each item's end, audio the bridge makes itself
 * (the apology, DTMF tones), the playback ledger that turns echoed marks into what the
 * caller heard, and the time to the first frame of each answer. Pure: it appends commands
 * to the list it is given.
 */
import { createModelToCaller, type ModelToCaller } from '../audio/transcoder.js';
import type { ModelAudioFormat } from '../protocol/realtime.js';
import type { Clock } from '../util/clock.js';
import type { CallCommand } from './events.js';
import { PlaybackLedger, type AudioItemKey, type ItemCut } from './playback-ledger.js';

/** One outbound Twilio frame: 20 ms of μ-law 8 kHz. */
const FRAME_MS = 20;
const FRAME_BYTES = 160;

export class AssistantPlayout {
  readonly ledger = new PlaybackLedger();
  private readonly transcoder: ModelToCaller;
  private readonly markIntervalFrames: number;
  private current: AudioItemKey | null = null;
  private framesSinceMark = 0;
  private interrupts = 0;
  private firstAudioSince: { atMs: number; afterCallerTurn: boolean } | null = null;

  constructor(
    modelAudio: ModelAudioFormat,
    markIntervalMs: number,
    private readonly clock: Clock,
  ) {
    this.transcoder = createModelToCaller(modelAudio);
    this.markIntervalFrames = Math.max(1, Math.round(markIntervalMs / FRAME_MS));
  }

  /** Barge-ins: the times the caller interrupted audio that was still playing. */
  get interruptions(): number {
    return this.interrupts;
  }

  /**
   * The caller's turn ended (or the call started, before a greeting): the next frame the
   * model sends records the latency from now (`record.firstAudio`).
   */
  awaitFirstAudio(afterCallerTurn: boolean): void {
    this.firstAudioSince = { atMs: this.clock.now(), afterCallerTurn };
  }

  /** A model audio delta: its whole frames (and marks) go out now; a new item first ends the previous one. */
  delta(e: AudioItemKey & { audio: Uint8Array }, out: CallCommand[]): void {
    const c = this.current;
    if (c !== null && (c.itemId !== e.itemId || c.contentIndex !== e.contentIndex || c.responseId !== e.responseId))
      this.finishItem(out);
    const key = { responseId: e.responseId, itemId: e.itemId, contentIndex: e.contentIndex };
    this.current = key;
    this.ledger.item(key);
    this.send(key, this.transcoder.push(e.audio), out);
  }

  /** The model finished an item's audio (`audio.done`): its tail and end mark go out now. */
  itemDone(itemId: string, contentIndex: number, out: CallCommand[]): void {
    const c = this.current;
    if (c !== null && c.itemId === itemId && c.contentIndex === contentIndex) this.finishItem(out);
  }

  /** A response ended (done, or died with its socket): its audio is complete. */
  responseDone(responseId: string, out: CallCommand[]): void {
    if (this.current?.responseId === responseId) this.finishItem(out);
    this.ledger.completeResponse(responseId);
  }

  /**
   * Plays audio the bridge made (μ-law 8 kHz) after everything already queued: whole 20 ms
   * frames, the last padded with silence, and one mark at its end.
   */
  playLocal(key: AudioItemKey, mulaw: Uint8Array, out: CallCommand[]): void {
    this.finishItem(out);
    const local = { ...key, local: true };
    for (let offset = 0; offset < mulaw.length; offset += FRAME_BYTES) {
      const frame = Buffer.alloc(FRAME_BYTES, 0xff);
      frame.set(mulaw.subarray(offset, Math.min(offset + FRAME_BYTES, mulaw.length)));
      out.push({ type: 'twilio.media', payload: frame });
      this.ledger.sent(local, FRAME_MS);
    }
    this.ledger.complete(local);
    out.push({ type: 'twilio.mark', name: this.ledger.placeMark(local) });
  }

  /**
   * The caller barged in (the session sends `twilio.clear`): what was heard of each item, by
   * the ledger's truncation rule, goes to the model (`truncate`, or `delete` for an item heard
   * not at all); everything queued is forgotten.
   */
  interrupt(cushionMs: number, out: CallCommand[]): { cuts: ItemCut[]; responseIds: Set<string> } {
    this.forget();
    this.interrupts++;
    const result = this.ledger.interrupt(cushionMs);
    for (const { itemId, contentIndex, audioEndMs } of result.cuts) {
      if (audioEndMs === null) out.push({ type: 'model.deleteItem', itemId });
      else out.push({ type: 'model.truncate', itemId, contentIndex, audioEndMs });
    }
    return result;
  }

  /** Empties Twilio's buffer when anything is still queued (before the apology). */
  clear(out: CallCommand[]): void {
    if (this.ledger.busy) {
      out.push({ type: 'twilio.clear' });
      this.ledger.clear();
    }
    this.forget();
  }

  private forget(): void {
    this.transcoder.reset();
    this.current = null;
    this.framesSinceMark = 0;
  }

  private send(key: AudioItemKey, frames: Buffer[], out: CallCommand[]): void {
    const since = this.firstAudioSince;
    if (since !== null && frames.length > 0) {
      const latencyMs = this.clock.now() - since.atMs;
      out.push({ type: 'record.firstAudio', latencyMs, afterCallerTurn: since.afterCallerTurn });
      this.firstAudioSince = null;
    }
    for (const payload of frames) {
      out.push({ type: 'twilio.media', payload });
      this.ledger.sent(key, FRAME_MS);
      if (++this.framesSinceMark >= this.markIntervalFrames) {
        out.push({ type: 'twilio.mark', name: this.ledger.placeMark(key) });
        this.framesSinceMark = 0;
      }
    }
  }

  /** The current item's audio is over: the transcoder's tail and the item-end mark. */
  private finishItem(out: CallCommand[]): void {
    const key = this.current;
    if (key === null) return;
    this.current = null;
    this.send(key, this.transcoder.flush(), out);
    this.transcoder.reset();
    if (this.framesSinceMark > 0) {
      out.push({ type: 'twilio.mark', name: this.ledger.placeMark(key) });
      this.framesSinceMark = 0;
    }
    this.ledger.complete(key);
  }
}
