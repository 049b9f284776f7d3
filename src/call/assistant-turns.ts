/**
 * The conversation as the caller heard it (SPEC §6.8): the assistant's words per item, each
 * stored once the caller has heard it — in full when its audio has played out, cut to what
 * was heard at a barge-in or at the end of the call — and the recent turns of both sides,
 * which a reconnect restores as text. Pure and bounded however long the call.
 */
import type { ModelCommand } from '../protocol/realtime.js';

/** One side of the conversation, as restored after a reconnect. */
export interface ConversationTurn {
  role: 'user' | 'assistant';
  text: string;
}

/** A conversation turn given to the model as a text message item. */
export function messageItem(role: ConversationTurn['role'], text: string): ModelCommand {
  return { type: 'model.createItem', item: { kind: 'message', role, text } };
}

/** An assistant turn ready for the call record. */
export interface SettledTurn {
  text: string;
  /** cut short: the caller heard only part of it */
  truncated: boolean;
}

interface AssistantItem {
  /** transcript deltas so far */
  text: string;
  /** the final transcript, once `transcript.done` arrived */
  transcript: string | null;
  /** ms of audio received from the model for this item */
  receivedMs: number;
  /** every frame of the item has played (its marks came back) */
  playedOut: boolean;
  settled: boolean;
}

/** Keeps the restored conversation inside the model's context after a reconnect. */
export const MAX_HISTORY_TURNS = 40;
/**
 * Assistant items whose words are tracked; older settled ones are forgotten. Without a bound
 * a long call keeps every answer twice (here and in the history), so its memory grows with
 * every answer (the soak in bench/README.md showed it). 64 items cover any late event of a
 * recent item (a transcript after a barge-in settled it).
 */
export const MAX_TRACKED_ASSISTANT_ITEMS = 64;

export class AssistantTurns {
  private readonly items = new Map<string, AssistantItem>();
  private readonly history: ConversationTurn[] = [];

  /** Assistant items tracked now (bounded by {@link MAX_TRACKED_ASSISTANT_ITEMS} settled ones). */
  get trackedItems(): number {
    return this.items.size;
  }

  /** Turns kept for a restore (bounded by {@link MAX_HISTORY_TURNS}). */
  get historyLength(): number {
    return this.history.length;
  }

  textDelta(itemId: string, delta: string): void {
    this.item(itemId).text += delta;
  }

  audioReceived(itemId: string, ms: number): void {
    this.item(itemId).receivedMs += ms;
  }

  /** The final transcript arrived: an item without audio, or already played out, is heard now. */
  transcriptDone(itemId: string, transcript: string): SettledTurn | null {
    const item = this.item(itemId);
    item.transcript = transcript;
    return item.playedOut || item.receivedMs === 0 ? this.settle(itemId, null) : null;
  }

  /** Every frame of the item has played: stored in full once its transcript is known. */
  playedOut(itemId: string): SettledTurn | null {
    const item = this.item(itemId);
    item.playedOut = true;
    return item.transcript !== null ? this.settle(itemId, null) : null;
  }

  /** The caller's own words (its transcript), kept for a restore. Returns the text to store, null when empty. */
  callerSaid(transcript: string): SettledTurn | null {
    const text = transcript.trim();
    if (text === '') return null;
    this.remember({ role: 'user', text });
    return { text, truncated: false };
  }

  /** A text the bridge gave the model on the caller's behalf (DTMF digits), kept for a restore. */
  remember(turn: ConversationTurn): void {
    this.history.push(turn);
    if (this.history.length > MAX_HISTORY_TURNS) this.history.shift();
  }

  /**
   * Records an assistant turn once: in full (`heardMs` null), or cut to what the caller heard.
   * The server deletes the transcript of truncated audio, so the stored text is cut in
   * proportion to the audio heard, at a word boundary. Null when there is nothing to store.
   */
  settle(itemId: string, heardMs: number | null): SettledTurn | null {
    const item = this.item(itemId);
    if (item.settled) return null;
    item.settled = true;
    let text = (item.transcript ?? item.text).trim();
    // Keep the entry as a tombstone (late transcript events must not store it twice), without its text.
    item.text = '';
    item.transcript = null;
    let truncated = false;
    if (heardMs !== null && heardMs < item.receivedMs) {
      truncated = true;
      const fraction = item.receivedMs > 0 ? heardMs / item.receivedMs : 0;
      const cut = Math.floor(text.length * fraction);
      const boundary = text.lastIndexOf(' ', cut);
      text = text.slice(0, boundary > 0 ? boundary : cut).trim();
      if (text !== '') text += ' …';
    }
    if (text === '') return null;
    this.remember({ role: 'assistant', text });
    return { text, truncated };
  }

  /**
   * At the end of the call: what the caller heard of the turns still playing. `playedMsOf`
   * gives an item's confirmed playback, or null when the item is no longer tracked (heard in full).
   */
  settleAll(playedMsOf: (itemId: string) => number | null): SettledTurn[] {
    const out: SettledTurn[] = [];
    for (const [itemId, item] of [...this.items]) {
      if (item.settled) continue;
      const played = playedMsOf(itemId);
      const turn = this.settle(itemId, item.playedOut || played === null ? null : played);
      if (turn !== null) out.push(turn);
    }
    return out;
  }

  /**
   * The conversation to restore after a reconnect, oldest first: the turns already heard, then
   * what the assistant is still saying (its audio keeps playing).
   */
  restore(): ConversationTurn[] {
    const playing: ConversationTurn[] = [];
    for (const item of this.items.values()) {
      const text = (item.transcript ?? item.text).trim();
      if (!item.settled && text !== '') playing.push({ role: 'assistant', text });
    }
    return [...this.history, ...playing].slice(-MAX_HISTORY_TURNS);
  }

  private item(itemId: string): AssistantItem {
    let item = this.items.get(itemId);
    if (item === undefined) {
      item = { text: '', transcript: null, receivedMs: 0, playedOut: false, settled: false };
      this.items.set(itemId, item);
      if (this.items.size > MAX_TRACKED_ASSISTANT_ITEMS) {
        // oldest first (a Map keeps insertion order); unsettled items are still in play
        for (const [id, old] of this.items) {
          if (this.items.size <= MAX_TRACKED_ASSISTANT_ITEMS) break;
          if (old.settled) this.items.delete(id);
        }
      }
    }
    return item;
  }
}
