/**
 * When may a recorded model event be played back to a bridge that may now behave
 * differently? (The model side of `npm run replay`.)
 *
 * A recorded `model_out` line answered something: `session.updated` answered a
 * `session.update`, a response's events followed the `response.create` that asked for it,
 * `speech_started` followed the caller audio the bridge had appended. Replaying such a line
 * at its recorded time to a bridge that now sends its `response.create` 300 ms later would
 * make the model answer a question not yet asked. So each line gets *gates*, worked out once
 * from the recording, and is released at
 *
 *     max(recorded t, for each gate: time the gate opened now + (recorded t − time it opened then))
 *
 * — the recorded gap after its cause is kept. With an unchanged bridge every gate opens at
 * its recorded time and every line is released exactly when it was recorded.
 *
 * The gates, when each opens, and what it is used for:
 *
 * - `client` k-th of a kind: opens when the bridge sends its k-th client event of that kind
 *   (`session.update`, `response.create`, `conversation.item.truncate`, …, and the lifecycle
 *   requests `link.connect` / `link.reconnect` / `link.close`). Used for `session.updated`,
 *   `response.created` of a client-created response, `conversation.item.truncated` /
 *   `.deleted`, client items' `conversation.item.added`, errors that answer a request
 *   (`response_cancel_not_active`, `conversation_already_has_active_response`, truncate past
 *   the end), `link.open` after `link.connect`.
 *   A tool job's recorded `tool.result` waits for the k-th `tool.call` of the replay.
 * - `line`: opens when another recorded line is released. Used for a response's events after
 *   its `response.created`; `session.created` after `link.open`; `link.open` (reconnect) after
 *   `link.closed`; a client item's `.done` after its `.added`.
 * - `audio` ms: opens when the bridge has appended this much caller audio (ms, not messages:
 *   re-chunking does not matter). Used for VAD and transcription events, server-created
 *   responses and user items.
 *
 * Anything not covered follows the line before it. Pure: no IO, no clock.
 */
import { base64ByteLength } from '../protocol/base64.js';
import { modelAudioBytesPerMs } from '../protocol/realtime.js';
import type { RecordingLine } from '../protocol/recording.js';
import { messageKind } from '../protocol/recording.js';
import { isWireObject, type WireObject } from '../protocol/wire-object.js';

/** Why a recorded line may be released (see the list in the file header). */
export type Gate =
  /** the `index`-th (0-based) client event of `clientKind`; recorded at `recordedT` */
  | { kind: 'client'; clientKind: string; index: number; recordedT: number }
  /** recorded line `line` (index into the recording's lines) is released */
  | { kind: 'line'; line: number; recordedT: number }
  /** the bridge has appended `ms` of caller audio; the recording reached it at `recordedT` */
  | { kind: 'audio'; ms: number; recordedT: number };

/** One `model_out` line with its gates. */
export interface GatedLine {
  /** index into the recording's lines */
  line: number;
  t: number;
  gates: Gate[];
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function obj(v: unknown): WireObject | null {
  return isWireObject(v) ? v : null;
}

/** The response id a server event belongs to (`response_id`, or `response.id` on created/done). */
function responseIdOf(msg: Record<string, unknown>): string | null {
  return str(msg['response_id']) ?? str(obj(msg['response'])?.['id']);
}

/**
 * Works out the gates of every `model_out` line of a recording (see the file header).
 * @param lines the recording's lines, in order
 */
export function gateModelLines(lines: readonly RecordingLine[], audioMode: 'pcm16' | 'pcmu'): GatedLine[] {
  const bytesPerMs = modelAudioBytesPerMs(audioMode);
  const seen = new Map<string, number>();
  const sentAt = new Map<string, number[]>();
  /** client events not yet answered, per kind: their 0-based index of that kind */
  const unanswered = new Map<string, number[]>();
  const responseCreatedLine = new Map<string, number>();
  const itemResponse = new Map<string, string>();
  const vadItems = new Set<string>();
  const clientItemAdded = new Map<string, number>();
  let lastClientItemAdded: number | null = null;
  let lastLinkOpen: number | null = null;
  let lastLinkClosed: number | null = null;
  let lastModelOut: number | null = null;
  let lastClient: { kind: string; index: number; t: number } | null = null;
  let audioMs = 0;
  let audioReachedAt = 0;
  const out: GatedLine[] = [];

  const pop = (kind: string): Gate | null => {
    const queue = unanswered.get(kind);
    const index = queue?.shift();
    if (index === undefined) return null;
    return { kind: 'client', clientKind: kind, index, recordedT: sentAt.get(kind)![index]! };
  };
  const lineGate = (line: number | null | undefined): Gate | null =>
    line === null || line === undefined ? null : { kind: 'line', line, recordedT: lines[line]!.t };
  const audioGate = (): Gate => ({ kind: 'audio', ms: audioMs, recordedT: audioReachedAt });

  lines.forEach((l, i) => {
    if (l.dir === 'model_in') {
      const kind = messageKind(l.dir, l.msg);
      if (kind === 'input_audio_buffer.append') {
        const b64 = str(l.msg['audio']);
        if (b64 !== null) {
          audioMs += base64ByteLength(b64) / bytesPerMs;
          audioReachedAt = l.t;
        }
        return;
      }
      const index = seen.get(kind) ?? 0;
      seen.set(kind, index + 1);
      if (!sentAt.has(kind)) sentAt.set(kind, []);
      sentAt.get(kind)!.push(l.t);
      if (!unanswered.has(kind)) unanswered.set(kind, []);
      unanswered.get(kind)!.push(index);
      lastClient = { kind, index, t: l.t };
      return;
    }
    if (l.dir !== 'model_out') return;
    const msg = l.msg;
    const type = messageKind(l.dir, msg);
    const gates: (Gate | null)[] = [];
    const itemId = str(obj(msg['item'])?.['id']) ?? str(msg['item_id']);
    switch (type) {
      case 'link.open':
        gates.push(
          msg['reconnect'] === true ? (lineGate(lastLinkClosed) ?? pop('link.reconnect')) : pop('link.connect'),
        );
        lastLinkOpen = i;
        break;
      case 'link.closed':
        // closed on the bridge's request, or dropped by the server / network (no gate)
        gates.push(pop('link.reconnect') ?? pop('link.close'));
        lastLinkClosed = i;
        break;
      case 'link.failed':
        gates.push(lineGate(lastLinkClosed));
        break;
      case 'session.created':
      case 'conversation.created':
        gates.push(lineGate(lastLinkOpen));
        break;
      case 'session.updated':
        gates.push(pop('session.update'));
        break;
      case 'tool.result':
        gates.push(pop('tool.call'));
        break;
      case 'conversation.item.truncated':
        gates.push(pop('conversation.item.truncate'));
        break;
      case 'conversation.item.deleted':
        gates.push(pop('conversation.item.delete'));
        break;
      case 'conversation.item.retrieved':
        gates.push(pop('conversation.item.retrieve'));
        break;
      case 'input_audio_buffer.cleared':
        gates.push(pop('input_audio_buffer.clear'));
        break;
      case 'input_audio_buffer.committed':
        if (itemId !== null) vadItems.add(itemId);
        gates.push(pop('input_audio_buffer.commit') ?? audioGate());
        break;
      case 'input_audio_buffer.speech_started':
      case 'input_audio_buffer.speech_stopped':
      case 'input_audio_buffer.timeout_triggered':
        if (itemId !== null) vadItems.add(itemId);
        gates.push(audioGate());
        break;
      case 'error': {
        const error = obj(msg['error']);
        const code = str(error?.['code']);
        const text = str(error?.['message']) ?? '';
        if (code === 'response_cancel_not_active') gates.push(pop('response.cancel'));
        else if (code === 'conversation_already_has_active_response') gates.push(pop('response.create'));
        else if (/already shorter than/i.test(text) || str(error?.['param'])?.includes('audio_end_ms') === true)
          gates.push(pop('conversation.item.truncate'));
        else if (code !== 'session_expired' && lastClient !== null) {
          const c: { kind: string; index: number; t: number } = lastClient;
          gates.push({ kind: 'client', clientKind: c.kind, index: c.index, recordedT: c.t });
        }
        break;
      }
      case 'response.created': {
        const rid = responseIdOf(msg);
        if (rid !== null) responseCreatedLine.set(rid, i);
        gates.push(pop('response.create') ?? audioGate());
        break;
      }
      case 'conversation.item.added':
      case 'conversation.item.created':
      case 'conversation.item.done': {
        const owner = itemId === null ? undefined : itemResponse.get(itemId);
        if (owner !== undefined) {
          gates.push(lineGate(responseCreatedLine.get(owner)));
        } else if (itemId !== null && vadItems.has(itemId)) {
          gates.push(audioGate());
        } else if (type === 'conversation.item.done') {
          gates.push(
            lineGate(itemId !== null ? (clientItemAdded.get(itemId) ?? lastClientItemAdded) : lastClientItemAdded),
          );
        } else {
          gates.push(pop('conversation.item.create') ?? audioGate());
          if (itemId !== null) clientItemAdded.set(itemId, i);
          lastClientItemAdded = i;
        }
        break;
      }
      default: {
        const rid = responseIdOf(msg);
        if (rid !== null) {
          if (type === 'response.output_item.added' && itemId !== null) itemResponse.set(itemId, rid);
          gates.push(lineGate(responseCreatedLine.get(rid)));
          const status = str(obj(msg['response'])?.['status']);
          const reason = str(obj(obj(msg['response'])?.['status_details'])?.['reason']);
          if (type === 'response.done' && status === 'cancelled' && reason === 'client_cancelled')
            gates.push(pop('response.cancel'));
        } else if (type.startsWith('conversation.item.input_audio_transcription.')) {
          gates.push(audioGate());
        } else {
          gates.push(lineGate(lastModelOut));
        }
      }
    }
    lastModelOut = i;
    out.push({ line: i, t: l.t, gates: gates.filter((g): g is Gate => g !== null) });
  });
  return out;
}
