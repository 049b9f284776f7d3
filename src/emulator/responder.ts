/**
 * What the emulator answers, per response. A test (or the standalone defaults) picks a
 * {@link ResponsePlan}; the session turns it into the documented event sequence.
 *
 * Defaults, chosen so a standalone call makes sense (see {@link defaultPlan}):
 * - a caller speech turn → the *echo line*: a short tone, then the caller's last utterance
 *   played back (the classic telephone echo test, proving the audio path both ways);
 * - `response.create` with nothing new from the caller (the bridge's greeting) → `greeting`;
 * - a text message from the caller (e.g. DTMF as text) → `reply`;
 * - a function call output, or an MCP call the emulator made → `done`;
 * - an out-of-band post-call analysis request → its JSON answer (`analysis-answer.ts`).
 */

import { analysisAnswer, isAnalysisRequest } from './analysis-answer.js';

/** Pacing of one response's stream (all optional; the emulator's options give the defaults). */
export interface Pacing {
  /** multiple of real time the audio is streamed at (the real API runs ahead of real time) */
  speed?: number;
  /** smallest and largest audio duration per delta, ms (sizes are drawn from the seeded PRNG) */
  minDeltaMs?: number;
  maxDeltaMs?: number;
  /** model "thinking" time before the first output, ms of model time (divided by speed) */
  firstDeltaDelayMs?: number;
}

/** One response's content. */
export type ResponsePlan = (
  | { kind: 'clip'; clip: string; /** overrides the clip's transcript */ transcript?: string }
  | { kind: 'echo' }
  /** output text (no audio) when the response is text-only; otherwise spoken with the `reply` clip's audio */
  | { kind: 'text'; text: string }
  | {
      kind: 'toolCall';
      name: string;
      /** a JSON string, or an object that is stringified */
      arguments: string | Record<string, unknown>;
      /** an assistant audio item before the call, as a clip name or the echo line */
      before?: { clip: string; transcript?: string } | 'echo';
      /** call id to use (default: generated) */
      callId?: string;
      /** more function calls in the same response, after this one */
      more?: { name: string; arguments: string | Record<string, unknown>; callId?: string }[];
    }
  /** `response.done` with `status: "failed"` and this error, after `response.created` */
  | { kind: 'fail'; code?: string; message?: string }
) & { pacing?: Pacing };

/** What a responder sees when deciding. */
export interface ResponseRequest {
  /** `turn` = server VAD ended a caller turn (create_response); `client` = response.create */
  trigger: 'turn' | 'client';
  /** the response.create `response` object, GA-shaped (empty for VAD turns) */
  params: Record<string, unknown>;
  /** items added to the conversation since the previous response, oldest first */
  newItems: readonly { type: string; role: string | null; hasAudio: boolean; text: string | null }[];
  /** 'audio' or 'text' */
  modality: 'audio' | 'text';
  sessionId: string;
}

/** Decides a response; return undefined to fall back to the defaults. */
export type Responder = (request: ResponseRequest) => ResponsePlan | undefined;

/** The defaults described at the top of this file. */
export function defaultPlan(request: ResponseRequest): ResponsePlan {
  if (isAnalysisRequest(request.params, request.modality))
    return { kind: 'text', text: analysisAnswer(request.params) };
  const items = request.newItems;
  if (items.some((i) => i.type === 'function_call_output' || i.type === 'mcp_call'))
    return { kind: 'clip', clip: 'done' };
  const lastUser = [...items].reverse().find((i) => i.type === 'message' && i.role !== 'assistant');
  if (lastUser?.hasAudio) return { kind: 'echo' };
  if (lastUser !== undefined) return { kind: 'clip', clip: 'reply' };
  return { kind: 'clip', clip: 'greeting' };
}
