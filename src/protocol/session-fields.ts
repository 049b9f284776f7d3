/**
 * The per-profile model settings of SPEC §11, as the wire knows them: enums, ranges, where each
 * sits in a GA session, and which the beta dialect cannot carry. The config validates profiles
 * with these values and the emulator validates `session.update` with the same ones, so both
 * agree with the API they stand for.
 *
 * Sources (GA, 2025-08 onward):
 * - OpenAI API reference, Realtime client events, `session.update`:
 *   https://platform.openai.com/docs/api-reference/realtime-client-events/session/update
 *   (`reasoning.effort`, `max_output_tokens` 1–4096 or "inf", `truncation` "auto" | "disabled" |
 *   `{type: "retention_ratio", retention_ratio: 0–1}`, `audio.output.speed` 0.25–1.5,
 *   `audio.input.noise_reduction` `{type: near_field | far_field}` or null,
 *   `audio.input.transcription` `{model, language, prompt}`, `turn_detection`
 *   `{type: semantic_vad, eagerness: low | medium | high | auto}`).
 * - openai-node `src/resources/realtime/realtime.ts` (`RealtimeSessionCreateRequest`,
 *   `RealtimeAudioConfigInput.NoiseReduction`, `RealtimeTruncation`) and, for beta,
 *   `src/resources/beta/realtime/sessions.ts` (`input_audio_noise_reduction`,
 *   `max_response_output_tokens`, `speed`; no reasoning, no truncation).
 * - Azure OpenAI "Realtime API preview → GA migration guide" (beta lacks `reasoning` and
 *   `truncation`).
 */

/** `reasoning.effort` values (reasoning models only, e.g. `gpt-realtime-2`). */
export const REASONING_EFFORTS = ['minimal', 'low', 'medium', 'high', 'xhigh'] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

/** `semantic_vad.eagerness`: how soon the server decides the caller finished (auto = medium). */
export const VAD_EAGERNESS = ['low', 'medium', 'high', 'auto'] as const;

/** `noise_reduction.type`: near_field for handsets and headsets, far_field for speakerphones. */
export const NOISE_REDUCTION_TYPES = ['near_field', 'far_field'] as const;
export type NoiseReductionType = (typeof NOISE_REDUCTION_TYPES)[number];

/** `audio.output.speed` range; 1.0 is the default. */
export const SPEED_MIN = 0.25;
export const SPEED_MAX = 1.5;

/** `max_output_tokens`: an integer 1–4096, or `"inf"` (the default). */
export const MAX_OUTPUT_TOKENS_LIMIT = 4096;

/** `truncation` as the bridge holds it; `{retentionRatio}` goes out as GA's `{type: "retention_ratio", …}`. */
export type Truncation = 'auto' | 'disabled' | { retentionRatio: number };

/** Model settings a profile may set; each is sent only when set. */
export interface ModelSettings {
  reasoningEffort?: ReasoningEffort;
  /** null turns the server's noise reduction off explicitly */
  noiseReduction?: NoiseReductionType | null;
  speed?: number;
  maxOutputTokens?: number | 'inf';
  truncation?: Truncation;
}

/**
 * The profile fields (numbers.yaml spelling) whose values `dialect` has no place for: the beta
 * session has no `reasoning` and no `truncation` (PROTOCOLS.md §10.1, §5.3).
 */
export function fieldsDialectCannotCarry(settings: ModelSettings, dialect: 'ga' | 'beta'): string[] {
  if (dialect === 'ga') return [];
  const out: string[] = [];
  if (settings.reasoningEffort !== undefined) out.push('reasoning_effort');
  if (settings.truncation !== undefined) out.push('truncation');
  return out;
}

/** The top-level GA session fields the settings set (`reasoning`, `max_output_tokens`, `truncation`). */
export function settingsSessionFieldsGa(settings: ModelSettings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (settings.reasoningEffort !== undefined) out['reasoning'] = { effort: settings.reasoningEffort };
  if (settings.maxOutputTokens !== undefined) out['max_output_tokens'] = settings.maxOutputTokens;
  const t = settings.truncation;
  if (t !== undefined)
    out['truncation'] = typeof t === 'string' ? t : { type: 'retention_ratio', retention_ratio: t.retentionRatio };
  return out;
}
