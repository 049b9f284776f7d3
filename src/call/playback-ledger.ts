/**
 * What the caller has actually heard (PROTOCOLS.md §2.7, §6.3).
 *
 * For every assistant audio item — keyed by (response, item, content index) — the ledger
 * keeps the ms sent to Twilio and the ms played, where "played" moves only when Twilio
 * echoes a mark we placed after that audio. Twilio plays in order, so an echoed mark also
 * means every item sent before it has played in full.
 *
 * Marks carry a playback generation. `clear` bumps the generation: Twilio echoes every
 * pending mark when it clears, and those echoes look exactly like played ones, so marks of
 * an older generation move nothing. Pure: no IO, no clock.
 */

/** Identifies one audio content part of an assistant item. */
export interface AudioItemKey {
  responseId: string;
  itemId: string;
  contentIndex: number;
  /** audio the bridge made itself (the apology, DTMF tones): no model item stands behind it */
  local?: boolean;
}

export interface LedgerItem extends AudioItemKey {
  /** ms of audio sent to Twilio for this item (whole 20 ms frames) */
  sentMs: number;
  /** ms confirmed played by echoed marks */
  playedMs: number;
  /** the model has finished this item's audio (`audio.done` or the response ended) */
  complete: boolean;
  /** order in which items started playing */
  readonly order: number;
  readonly local: boolean;
}

/** What a barge-in does to one model item the caller has not fully heard. */
export interface ItemCut {
  itemId: string;
  contentIndex: number;
  /** what the caller heard, for `conversation.item.truncate`; null: nothing confirmed heard (delete the item) */
  audioEndMs: number | null;
}

interface MarkRecord {
  item: LedgerItem;
  /** the item's sentMs when the mark was placed */
  atMs: number;
  generation: number;
}

export type MarkResult =
  | { kind: 'played'; item: LedgerItem }
  /** an echo of a mark sent before the last clear: counted as not played */
  | { kind: 'stale' }
  | { kind: 'unknown' };

/** Echoes of cleared marks are kept to be recognised as stale; beyond this many, old ones are forgotten. */
const MAX_STALE_MARKS = 512;

export class PlaybackLedger {
  private generation = 0;
  private seq = 0;
  private order = 0;
  private items = new Map<string, LedgerItem>();
  private readonly marks = new Map<string, MarkRecord>();

  private static keyOf(k: AudioItemKey): string {
    return `${k.responseId}\u0000${k.itemId}\u0000${k.contentIndex}`;
  }

  /** The current playback generation (bumped by {@link clear}). */
  get currentGeneration(): number {
    return this.generation;
  }

  /** The item for `key`, created (with nothing sent) on first use. */
  item(key: AudioItemKey): LedgerItem {
    const k = PlaybackLedger.keyOf(key);
    let item = this.items.get(k);
    if (item === undefined) {
      item = {
        responseId: key.responseId,
        itemId: key.itemId,
        contentIndex: key.contentIndex,
        sentMs: 0,
        playedMs: 0,
        complete: false,
        order: this.order++,
        local: key.local === true,
      };
      this.items.set(k, item);
    }
    return item;
  }

  /** Records `durationMs` of this item's audio as sent. */
  sent(key: AudioItemKey, durationMs: number): LedgerItem {
    const item = this.item(key);
    item.sentMs += durationMs;
    return item;
  }

  /** Marks the model's audio for this item as complete. */
  complete(key: AudioItemKey): void {
    this.item(key).complete = true;
  }

  /** Marks every item of a response complete (the response ended). */
  completeResponse(responseId: string): void {
    for (const item of this.items.values()) if (item.responseId === responseId) item.complete = true;
  }

  /**
   * Places a mark after everything sent so far for `key` and returns its name:
   * `g<generation>:m<seq>:<ms>`, unique within the call.
   */
  placeMark(key: AudioItemKey): string {
    const item = this.item(key);
    const name = `g${this.generation}:m${++this.seq}:${Math.round(item.sentMs)}`;
    this.marks.set(name, { item, atMs: item.sentMs, generation: this.generation });
    return name;
  }

  /** Applies an echoed mark. */
  markEchoed(name: string): MarkResult {
    const mark = this.marks.get(name);
    if (mark === undefined) return { kind: 'unknown' };
    this.marks.delete(name);
    if (mark.generation !== this.generation) return { kind: 'stale' };
    const { item } = mark;
    item.playedMs = Math.max(item.playedMs, mark.atMs);
    // Twilio plays in order: everything queued before this item has been heard in full.
    for (const other of this.items.values()) {
      if (other.order < item.order) other.playedMs = other.sentMs;
    }
    return { kind: 'played', item };
  }

  /** Items (of the current generation) whose audio the caller has not fully heard yet, oldest first. */
  unplayed(): LedgerItem[] {
    return [...this.items.values()]
      .filter((i) => !(i.complete && i.playedMs >= i.sentMs))
      .sort((a, b) => a.order - b.order);
  }

  /** ms sent but not yet confirmed played, over all current items. */
  pendingMs(): number {
    let ms = 0;
    for (const i of this.items.values()) ms += Math.max(0, i.sentMs - i.playedMs);
    return ms;
  }

  /** True while any sent audio awaits its mark, or the model may still add audio to an item. */
  get busy(): boolean {
    for (const i of this.items.values()) if (!i.complete || i.playedMs < i.sentMs) return true;
    return false;
  }

  /** True while some audio of `responseId` is unfinished or unheard (pruned and cleared items count as done). */
  hasUnplayed(responseId: string): boolean {
    for (const i of this.items.values()) {
      if (i.responseId === responseId && (!i.complete || i.playedMs < i.sentMs)) return true;
    }
    return false;
  }

  /**
   * The caller interrupted (a barge-in, with `clear` sent to Twilio): what the caller heard of
   * each model item still unplayed, oldest first, one cut per item. The truncation rule lives
   * here and nowhere else: `audio_end_ms = floor(min(sent, played + cushion))` — never more
   * than was sent, an integer, and the cushion covers the echo's delay (see
   * `SessionTuning.truncationCushionMs`). An item with nothing confirmed played is deleted
   * instead. Local audio (no model item) is not cut. Then starts a new generation ({@link clear}).
   *
   * @returns the cuts, and the responses whose audio was cut (their late deltas must be dropped)
   */
  interrupt(cushionMs: number): { cuts: ItemCut[]; responseIds: Set<string> } {
    const cuts: ItemCut[] = [];
    const responseIds = new Set<string>();
    const seen = new Set<string>();
    for (const item of this.unplayed()) {
      if (item.local) continue;
      responseIds.add(item.responseId);
      if (seen.has(item.itemId)) continue;
      seen.add(item.itemId);
      const audioEndMs = item.playedMs <= 0 ? null : Math.floor(Math.min(item.sentMs, item.playedMs + cushionMs));
      cuts.push({ itemId: item.itemId, contentIndex: item.contentIndex, audioEndMs });
    }
    this.clear();
    return { cuts, responseIds };
  }

  /**
   * Starts a new generation after a `clear`: forgets the current items (their audio is gone
   * from Twilio's buffer) and makes the echoes of all outstanding marks stale.
   */
  clear(): void {
    this.generation++;
    this.items = new Map();
  }

  /**
   * Drops fully played, complete items so a long call keeps the ledger small, and returns
   * them (the caller has now heard each of them in full).
   */
  prune(): LedgerItem[] {
    const done: LedgerItem[] = [];
    for (const [k, i] of this.items) {
      if (i.complete && i.playedMs >= i.sentMs) {
        this.items.delete(k);
        done.push(i);
      }
    }
    if (this.marks.size > MAX_STALE_MARKS) {
      for (const [name, m] of this.marks) if (m.generation !== this.generation) this.marks.delete(name);
    }
    return done;
  }

  /** ms of `itemId` confirmed played, or null when the ledger no longer (or never) tracked it. */
  playedMsOf(itemId: string): number | null {
    for (const i of this.items.values()) if (i.itemId === itemId) return i.playedMs;
    return null;
  }
}
