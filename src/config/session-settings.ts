/**
 * The SPEC §11 fields of a profile: model settings sent in `session.update` (each only when
 * set) and `idle`, the silence handling. Enums and ranges come from `protocol/session-fields.ts`,
 * the same values the emulator enforces. Whether the dialect in use can carry a field is checked
 * by {@link checkProfilesForDialect} once the provider is known (at start-up, on every reload and
 * on `PUT /api/numbers/…`).
 */
import { z } from 'zod';

import {
  fieldsDialectCannotCarry,
  MAX_OUTPUT_TOKENS_LIMIT,
  NOISE_REDUCTION_TYPES,
  REASONING_EFFORTS,
  SPEED_MAX,
  SPEED_MIN,
  type ModelSettings,
} from '../protocol/session-fields.js';
import type { Dialect } from '../protocol/dialects.js';
import { ConfigError } from '../util/errors.js';

const IdleSchema = z
  .object({
    after_ms: z
      .number()
      .int()
      .min(1_000, 'must be at least 1000 (ms)')
      .max(120_000, 'must be at most 120000 (ms)')
      .optional(),
    prompts: z.array(z.string().min(1, 'must not be empty')).min(1, 'must hold at least one prompt').optional(),
    end_after: z.number().int().min(1).max(10).optional(),
    goodbye: z.string().min(1, 'must not be empty').optional(),
  })
  .strict();

/** The §11 profile fields, spread into the profile schema (numbers.yaml spelling). */
export const SessionSettingsFieldsSchema = {
  model: z.string().min(1, 'must not be empty').max(128).optional(),
  reasoning_effort: z
    .enum(REASONING_EFFORTS, { message: `is not a reasoning effort (${REASONING_EFFORTS.join(', ')})` })
    .optional(),
  noise_reduction: z
    .enum(NOISE_REDUCTION_TYPES, { message: `must be ${NOISE_REDUCTION_TYPES.join(' or ')} (or null: off)` })
    .nullable()
    .optional(),
  speed: z
    .number()
    .min(SPEED_MIN, `must be at least ${SPEED_MIN}`)
    .max(SPEED_MAX, `must be at most ${SPEED_MAX}`)
    .optional(),
  max_output_tokens: z
    .union([z.number().int().min(1).max(MAX_OUTPUT_TOKENS_LIMIT), z.literal('inf')], {
      message: `must be an integer 1–${MAX_OUTPUT_TOKENS_LIMIT} or "inf"`,
    })
    .optional(),
  truncation: z
    .union([z.enum(['auto', 'disabled']), z.object({ retention_ratio: z.number().min(0).max(1) }).strict()], {
      message: 'must be auto, disabled or {retention_ratio: 0..1}',
    })
    .optional(),
  idle: IdleSchema.nullable().optional(),
};

type SettingsFields = {
  [K in keyof typeof SessionSettingsFieldsSchema]?: z.infer<(typeof SessionSettingsFieldsSchema)[K]>;
};

/** Silence handling (SPEC §11): prompt after `afterMs` of silence, end after `endAfter` unanswered prompts. */
export interface IdleSettings {
  afterMs: number;
  prompts: readonly string[];
  endAfter: number;
  goodbye: string;
}

/** SPEC §11's example: long enough for a caller looking something up, short enough not to feel dead. */
const DEFAULT_IDLE_AFTER_MS = 8_000;
const DEFAULT_IDLE_PROMPT = 'Are you still there?';
const DEFAULT_IDLE_END_AFTER = 2;
const DEFAULT_IDLE_GOODBYE = "I haven't heard anything for a while, so I'll end the call now. Goodbye!";

/** The resolved §11 fields: settings absent from the profile stay absent (never sent). */
export interface ResolvedSessionSettings {
  /** per-number model (or Azure deployment); absent: REALTIME_MODEL */
  model?: string;
  modelSettings: ModelSettings;
  /** null: silence is never acted on */
  idle: IdleSettings | null;
}

export function resolveSessionSettings(f: SettingsFields): ResolvedSessionSettings {
  const modelSettings: ModelSettings = {};
  if (f.reasoning_effort !== undefined) modelSettings.reasoningEffort = f.reasoning_effort;
  if (f.noise_reduction !== undefined) modelSettings.noiseReduction = f.noise_reduction;
  if (f.speed !== undefined) modelSettings.speed = f.speed;
  if (f.max_output_tokens !== undefined) modelSettings.maxOutputTokens = f.max_output_tokens;
  if (f.truncation !== undefined)
    modelSettings.truncation =
      typeof f.truncation === 'string' ? f.truncation : { retentionRatio: f.truncation.retention_ratio };
  const idle =
    f.idle === undefined || f.idle === null
      ? null
      : {
          afterMs: f.idle.after_ms ?? DEFAULT_IDLE_AFTER_MS,
          prompts: f.idle.prompts ?? [DEFAULT_IDLE_PROMPT],
          endAfter: f.idle.end_after ?? DEFAULT_IDLE_END_AFTER,
          goodbye: f.idle.goodbye ?? DEFAULT_IDLE_GOODBYE,
        };
  return { ...(f.model !== undefined ? { model: f.model } : {}), modelSettings, idle };
}

/**
 * Refuses profiles that set a field `dialect` cannot carry (beta: `reasoning_effort`,
 * `truncation`): a configuration error naming the file, the profile and the field.
 * @throws ConfigError
 */
export function checkProfilesForDialect(
  profiles: {
    file: string;
    defaults: { key: string; modelSettings?: ModelSettings };
    byNumber: ReadonlyMap<string, { key: string; modelSettings?: ModelSettings }>;
  },
  dialect: Dialect,
): void {
  for (const profile of [profiles.defaults, ...profiles.byNumber.values()]) {
    const field = fieldsDialectCannotCarry(profile.modelSettings ?? {}, dialect)[0];
    if (field === undefined) continue;
    const where = profile.key === 'defaults' ? 'defaults' : `numbers.${JSON.stringify(profile.key)}`;
    throw new ConfigError(
      `${profiles.file}: ${where}.${field}`,
      `${profiles.file.split('/').pop() ?? profiles.file}: ${where}.${field}: the ${dialect} realtime dialect ` +
        `has no place for ${field}; remove it or use a GA endpoint (REALTIME_DIALECT=ga)`,
    );
  }
}
