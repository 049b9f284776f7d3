/**
 * Custom tools and per-call context in a profile (SPEC §9, §10): the YAML shape, and the
 * resolved {@link CustomTool} a call uses. Everything that can be checked is checked at load,
 * so a bad entry stops start-up (or is refused as an edit) instead of failing mid-call: the
 * `parameters` schema is compiled once here with Ajv, and `${env:NAME}` in header values is
 * read here (an unset variable is a configuration error naming file, field and variable).
 */
import { createRequire } from 'node:module';

import type { Ajv, ValidateFunction } from 'ajv';
import { z } from 'zod';

/** What OpenAI accepts as a function name (and what SPEC §9 allows). */
export const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
export const DEFAULT_TOOL_TIMEOUT_MS = 5_000;
export const MAX_TOOL_TIMEOUT_MS = 30_000;
export const DEFAULT_WAIT_AFTER_MS = 1_500;
export const DEFAULT_CONTEXT_TIMEOUT_MS = 1_500;

export const httpUrl = z.string().refine(
  (s) => {
    try {
      const url = new URL(s);
      return url.protocol === 'https:' || url.protocol === 'http:';
    } catch {
      return false;
    }
  },
  { message: 'is not an http(s) URL like "https://clinic.example/voice-tools/lookup"' },
);

export const CustomToolSchema = z
  .object({
    name: z.string().regex(TOOL_NAME, { message: 'must be 1 to 64 of A-Z, a-z, 0-9, _ and -' }),
    description: z.string().optional(),
    parameters: z
      .record(z.string(), z.unknown())
      .refine((s) => s['type'] === 'object', { message: 'must be a JSON Schema with type: object' })
      .optional(),
    http: z
      .object({
        url: httpUrl,
        method: z.enum(['POST', 'GET'], { message: 'must be POST or GET' }).optional(),
        headers: z.record(z.string(), z.string()).optional(),
        timeout_ms: z.number().int().min(1).max(MAX_TOOL_TIMEOUT_MS).optional(),
      })
      .strict(),
    wait_message: z.string().optional(),
    wait_after_ms: z.number().int().min(0).max(60_000).optional(),
  })
  .strict();

export type CustomToolFields = z.infer<typeof CustomToolSchema>;

/** `context_url` and the other §10 fields of a profile. */
export const ContextFieldsSchema = {
  context_url: httpUrl.nullable().optional(),
  context_timeout_ms: z.number().int().min(1).max(MAX_TOOL_TIMEOUT_MS).optional(),
};

/** `${env:NAME}` in a header value. */
const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A header value that names an unset variable. */
export class MissingEnvVariable extends Error {
  constructor(
    readonly header: string,
    readonly variable: string,
  ) {
    super(`\${env:${variable}} names ${variable}, which is not set`);
  }
}

/** Header values with `${env:NAME}` read from `env`. @throws MissingEnvVariable */
export function resolveHeaders(headers: Record<string, string>, env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [
      name,
      value.replace(ENV_REF, (_m, variable: string) => {
        const found = env[variable];
        if (found === undefined || found === '') throw new MissingEnvVariable(name, variable);
        return found;
      }),
    ]),
  );
}

/** A `parameters` schema Ajv cannot compile. */
export class BadParametersSchema extends Error {}

let ajv: Ajv | null = null;

/** Ajv, loaded on first use: start-up pays for importing it only when a profile has a custom tool. */
export function schemaCompiler(): Ajv {
  if (ajv === null) {
    const loaded = createRequire(import.meta.url)('ajv') as { Ajv: new (options: object) => Ajv };
    ajv = new loaded.Ajv({ allErrors: false, strict: false });
  }
  return ajv;
}

/**
 * One custom tool, resolved. Its public fields are what `/api/numbers` and recordings show
 * (header values as written, `${env:…}` included); the resolved header values and the compiled
 * schema are private fields, which JSON never sees, so a secret read from the environment
 * cannot leak through either.
 */
export class CustomTool {
  readonly name: string;
  readonly description: string;
  readonly parameters: Record<string, unknown>;
  readonly http: {
    url: string;
    method: 'POST' | 'GET';
    /** as written in the file */
    headers: Record<string, string>;
    timeoutMs: number;
  };
  readonly waitMessage: string | null;
  readonly waitAfterMs: number;
  readonly #headers: Record<string, string>;
  readonly #validate: ValidateFunction;

  /** @throws MissingEnvVariable, BadParametersSchema */
  constructor(fields: CustomToolFields, env: NodeJS.ProcessEnv) {
    this.name = fields.name;
    this.description = fields.description ?? '';
    this.parameters = fields.parameters ?? { type: 'object', properties: {} };
    const headers = fields.http.headers ?? {};
    this.http = {
      url: fields.http.url,
      method: fields.http.method ?? 'POST',
      headers,
      timeoutMs: fields.http.timeout_ms ?? DEFAULT_TOOL_TIMEOUT_MS,
    };
    this.waitMessage = fields.wait_message?.trim() ? fields.wait_message : null;
    this.waitAfterMs = fields.wait_after_ms ?? DEFAULT_WAIT_AFTER_MS;
    this.#headers = resolveHeaders(headers, env);
    try {
      this.#validate = schemaCompiler().compile(this.parameters);
    } catch (err) {
      throw new BadParametersSchema(`is not a valid JSON Schema (${(err as Error).message.slice(0, 200)})`);
    }
  }

  /** Header values with `${env:…}` filled in: for the request only. */
  resolvedHeaders(): Record<string, string> {
    return { ...this.#headers };
  }

  /** Null when `args` match `parameters`, else a short reason (for the model: no schema dump). */
  checkArguments(args: unknown): string | null {
    if (this.#validate(args)) return null;
    const e = this.#validate.errors?.[0];
    if (e === undefined) return 'arguments do not match the tool parameters';
    const where = e.instancePath === '' ? 'arguments' : `arguments${e.instancePath.replaceAll('/', '.')}`;
    return `${where} ${e.message ?? 'do not match the tool parameters'}`.slice(0, 200);
  }
}
