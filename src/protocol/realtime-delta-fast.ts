/**
 * The fast path for the two deltas, `response.output_audio.delta` and
 * `response.output_audio_transcript.delta` (GA spelling; beta is translated first): about two
 * thirds of what the model sends during an answer, read without zod. Pure.
 *
 * Exactly the checks of their schemas in realtime-codec.ts (ids are strings, indexes safe
 * integers as `z.number().int()` wants, delta a string; audio strict base64) and the same
 * event. Any other type, or a field the schema would refuse, is declined (null) and takes
 * the schema path (`parseGaEventWithSchema`), which gives the reason; the one refusal made
 * here, audio that is not base64, carries the schema path's reason word for word.
 * test/unit/protocol/realtime-delta-fast.test.ts holds the two equal on generated events.
 */
import { decodeStrictBase64 } from './base64.js';
import type { ModelEvent } from './realtime.js';

const AUDIO_DELTA = 'response.output_audio.delta';
const TRANSCRIPT_DELTA = 'response.output_audio_transcript.delta';

/** A delta as the schema path would parse it, or null to take that path. */
export function parseDeltaFast(
  e: Readonly<Record<string, unknown>>,
): { ok: true; event: ModelEvent } | { ok: false; reason: string } | null {
  const type = e['type'];
  if (type !== AUDIO_DELTA && type !== TRANSCRIPT_DELTA) return null;
  const responseId = e['response_id'];
  const itemId = e['item_id'];
  const outputIndex = e['output_index'];
  const contentIndex = e['content_index'];
  const delta = e['delta'];
  if (typeof responseId !== 'string' || typeof itemId !== 'string' || typeof delta !== 'string') return null;
  if (!Number.isSafeInteger(outputIndex) || !Number.isSafeInteger(contentIndex)) return null;
  if (type === TRANSCRIPT_DELTA) {
    return {
      ok: true,
      event: { type: 'model.transcriptDelta', responseId, itemId, contentIndex: contentIndex as number, delta },
    };
  }
  const audio = decodeStrictBase64(delta);
  if (audio === null) return { ok: false, reason: `${type}: delta: not base64` };
  return {
    ok: true,
    event: {
      type: 'model.audioDelta',
      responseId,
      itemId,
      outputIndex: outputIndex as number,
      contentIndex: contentIndex as number,
      audio,
    },
  };
}
