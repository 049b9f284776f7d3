/**
 * The §10 event and analysis fields of a profile: `webhooks: {url, events}` (where a call's
 * events go) and `analysis: {instructions, schema}` (the post-call analysis). The analysis
 * schema is compiled once here with Ajv; a schema Ajv cannot compile is a configuration error.
 */
import type { ValidateFunction } from 'ajv';
import { z } from 'zod';

import { EVENT_TYPES, type EventType } from '../store/events-repo.js';
import { httpUrl, schemaCompiler } from './custom-tools.js';

export const EventFieldsSchema = {
  webhooks: z
    .object({
      url: httpUrl,
      events: z.array(z.enum(EVENT_TYPES, { message: `is not an event type (${EVENT_TYPES.join(', ')})` })).optional(),
    })
    .strict()
    .nullable()
    .optional(),
  analysis: z
    .object({
      instructions: z.string().min(1, 'must not be empty'),
      schema: z.record(z.string(), z.unknown()).optional(),
    })
    .strict()
    .nullable()
    .optional(),
};

type EventFields = { [K in keyof typeof EventFieldsSchema]?: z.infer<(typeof EventFieldsSchema)[K]> };

export interface WebhookSettings {
  url: string;
  events: EventType[];
}

/** An analysis schema Ajv cannot compile. */
export class BadAnalysisSchema extends Error {}

/** A profile's post-call analysis: what to ask, and the schema its `data` must match. */
export class AnalysisSettings {
  readonly instructions: string;
  readonly schema: Record<string, unknown>;
  readonly #validate: ValidateFunction;

  /** @throws BadAnalysisSchema */
  constructor(fields: { instructions: string; schema?: Record<string, unknown> | undefined }) {
    this.instructions = fields.instructions;
    this.schema = fields.schema ?? { type: 'object' };
    try {
      this.#validate = schemaCompiler().compile(this.schema);
    } catch (err) {
      throw new BadAnalysisSchema(`is not a valid JSON Schema (${(err as Error).message.slice(0, 200)})`);
    }
  }

  /** True when `data` matches the schema. */
  accepts(data: unknown): boolean {
    return this.#validate(data);
  }
}

/** The resolved §10 fields. @throws BadAnalysisSchema */
export function resolveEventFields(f: EventFields): {
  webhooks: WebhookSettings | null;
  analysis: AnalysisSettings | null;
} {
  return {
    webhooks: f.webhooks ? { url: f.webhooks.url, events: [...new Set(f.webhooks.events ?? EVENT_TYPES)] } : null,
    analysis: f.analysis ? new AnalysisSettings(f.analysis) : null,
  };
}
