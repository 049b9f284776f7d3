/**
 * Per-number profiles (SPEC §4): which instructions, voice, greeting and tools a call gets,
 * chosen by the number that was called.
 *
 * The file is YAML: `defaults`, `reject_unknown` and `numbers` keyed by E.164 number. A
 * profile inherits every field it omits from `defaults` (nested objects such as
 * `turn_detection` field by field). The file is validated on load and on every change; an
 * invalid edit is reported with the field's path and the previous profiles stay in force.
 */
import {
  accessSync,
  constants as fsConstants,
  existsSync,
  readFileSync,
  renameSync,
  unlinkSync,
  watch,
  writeFileSync,
  type FSWatcher,
} from 'node:fs';
import path from 'node:path';

import { isMap, isScalar, parseDocument, Scalar, type Document } from 'yaml';
import { z } from 'zod';

import type { Dialect } from '../protocol/dialects.js';
import type { ModelAudioFormat } from '../protocol/realtime.js';
import { VAD_EAGERNESS, type ModelSettings } from '../protocol/session-fields.js';
import { isWireObject } from '../protocol/wire-object.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { ConfigError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import {
  BadParametersSchema,
  ContextFieldsSchema,
  CustomTool,
  CustomToolSchema,
  DEFAULT_CONTEXT_TIMEOUT_MS,
  MissingEnvVariable,
} from './custom-tools.js';
import {
  BadAnalysisSchema,
  EventFieldsSchema,
  resolveEventFields,
  type AnalysisSettings,
  type WebhookSettings,
} from './event-settings.js';
import { EXAMPLE_NUMBERS_FILE } from '../util/project-files.js';
import { isE164 } from './env.js';
import { McpServer, McpServerSchema } from './mcp-servers.js';
import { resolveSessionSettings, SessionSettingsFieldsSchema, type IdleSettings } from './session-settings.js';

/** Voices the Realtime API accepts (GA adds marin and cedar). */
export const VOICES = [
  'alloy',
  'ash',
  'ballad',
  'coral',
  'echo',
  'sage',
  'shimmer',
  'verse',
  'marin',
  'cedar',
] as const;
export type Voice = (typeof VOICES)[number];

/** Built-in tools a profile may enable. */
export const BUILTIN_TOOLS = ['hang_up', 'transfer_call', 'send_dtmf'] as const;
export type BuiltinTool = (typeof BUILTIN_TOOLS)[number];

/** The key used for calls to numbers not listed in the file. */
export const DEFAULTS_KEY = 'defaults';

const e164 = z.string().refine(isE164, { message: 'is not an E.164 number like "+15551230001"' });

const ServerVadSchema = z
  .object({
    type: z.literal('server_vad'),
    threshold: z.number().min(0).max(1).optional(),
    prefix_padding_ms: z.number().int().min(0).max(5_000).optional(),
    silence_duration_ms: z.number().int().min(0).max(10_000).optional(),
  })
  .strict();

const SemanticVadSchema = z
  .object({
    type: z.literal('semantic_vad'),
    eagerness: z.enum(VAD_EAGERNESS, { message: `is not an eagerness (${VAD_EAGERNESS.join(', ')})` }).optional(),
  })
  .strict();

/** What an outbound call does when a machine answers (SPEC §13): nothing, hang up, or leave a message. */
export const MACHINE_DETECTION = ['off', 'hangup', 'voicemail'] as const;
export type MachineDetection = (typeof MACHINE_DETECTION)[number];

/** A profile's outbound settings (SPEC §13), after inheritance. */
export interface OutboundSettings {
  /** said first when a person answers; null = the profile's greeting */
  greeting: string | null;
  machineDetection: MachineDetection;
  /** said once after the beep (`voicemail`); null = hang up instead */
  voicemailMessage: string | null;
}

/** Every field optional: what a number (or `defaults`) may say. */
const ProfileFieldsSchema = z
  .object({
    instructions: z.string().min(1, 'must not be empty').optional(),
    voice: z.enum(VOICES, { message: `is not a known voice (${VOICES.join(', ')})` }).optional(),
    greeting: z.string().nullable().optional(),
    goodbye: z.string().nullable().optional(),
    greeting_interruptible: z.boolean().optional(),
    turn_detection: z.discriminatedUnion('type', [ServerVadSchema, SemanticVadSchema]).optional(),
    transcription: z
      .object({
        model: z.string().min(1),
        language: z.string().min(2).optional(),
        prompt: z.string().min(1, 'must not be empty').optional(),
      })
      .strict()
      .nullable()
      .optional(),
    tools: z
      .array(
        z.union([
          z.enum(BUILTIN_TOOLS, { message: `is not a built-in tool (${BUILTIN_TOOLS.join(', ')})` }),
          CustomToolSchema,
        ]),
      )
      .optional(),
    ...ContextFieldsSchema,
    ...EventFieldsSchema,
    ...SessionSettingsFieldsSchema,
    mcp_servers: z.array(McpServerSchema).optional(),
    transfer_to: e164.nullable().optional(),
    model_audio: z
      .enum(['pcm16', 'pcmu'], { message: 'must be pcm16 (transcode to 24 kHz PCM) or pcmu (μ-law passthrough)' })
      .optional(),
    outbound: z
      .object({
        greeting: z.string().nullable().optional(),
        machine_detection: z
          .enum(MACHINE_DETECTION, { message: `must be one of ${MACHINE_DETECTION.join(', ')}` })
          .optional(),
        voicemail_message: z.string().nullable().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ProfileFields = z.infer<typeof ProfileFieldsSchema>;

const NumbersFileSchema = z
  .object({
    defaults: ProfileFieldsSchema.optional(),
    reject_unknown: z.boolean().optional(),
    numbers: z.record(z.string(), ProfileFieldsSchema.nullable()).optional(),
  })
  .strict();

export type NumbersFile = z.infer<typeof NumbersFileSchema>;

export type TurnDetectionSettings =
  | { type: 'server_vad'; threshold: number; prefixPaddingMs: number; silenceDurationMs: number }
  | { type: 'semantic_vad'; eagerness: 'low' | 'medium' | 'high' | 'auto' };

/** A complete profile, after inheritance. */
export interface Profile {
  /** The E.164 number it was listed under, or `defaults`. */
  key: string;
  instructions: string;
  voice: Voice;
  /** Spoken first, before the caller says anything; null = wait for the caller. */
  greeting: string | null;
  /** false: barge-in is ignored until the greeting has finished playing. */
  greetingInterruptible: boolean;
  /**
   * Said by the assistant, the way it says the greeting, before the bridge itself ends the call
   * at MAX_CALL_DURATION_S; null (or absent, in recordings made before it existed) = end at once.
   */
  goodbye?: string | null | undefined;
  turnDetection: TurnDetectionSettings;
  transcription: { model: string; language?: string; prompt?: string } | null;
  /** per-number model or Azure deployment (SPEC §11); absent: REALTIME_MODEL */
  model?: string;
  /** SPEC §11 settings sent in `session.update`, each only when set; absent in older recordings */
  modelSettings?: ModelSettings;
  /** silence handling (SPEC §11); null or absent: off */
  idle?: IdleSettings | null | undefined;
  tools: BuiltinTool[];
  /** HTTP tools (SPEC §9), after the built-in ones; absent in recordings made before they existed */
  customTools?: readonly CustomTool[];
  /** MCP servers (SPEC §9); absent in recordings made before they existed */
  mcpServers?: readonly McpServer[];
  /** POSTed when the webhook arrives; its answer shapes the call (SPEC §10) */
  contextUrl?: string | null;
  /** how long the call start waits for the context service */
  contextTimeoutMs?: number;
  /** where this profile's call events go (SPEC §10); null: EVENTS_URL, if set */
  webhooks?: WebhookSettings | null;
  /** the post-call analysis (SPEC §10); null: none */
  analysis?: AnalysisSettings | null;
  transferTo: string | null;
  modelAudio: ModelAudioFormat;
  /** outbound calls placed from this number (SPEC §13); absent in recordings made before they existed */
  outbound?: OutboundSettings;
}

/** What applies when neither the number nor `defaults` says otherwise. */
const BUILTIN_DEFAULTS = {
  instructions: 'You are a friendly, concise phone assistant. Keep answers short; callers are listening, not reading.',
  voice: 'alloy' as Voice,
  // Server VAD values from the Realtime API documentation; always sent explicitly because
  // the server's own defaults have changed between releases (PROTOCOLS.md §8.6).
  threshold: 0.5,
  prefixPaddingMs: 300,
  silenceDurationMs: 500,
};

export interface Profiles {
  /** Absolute path of the file they came from. */
  file: string;
  /** The file as parsed (for the admin API). */
  raw: NumbersFile;
  rejectUnknown: boolean;
  defaults: Profile;
  byNumber: ReadonlyMap<string, Profile>;
}

export type Lookup = { kind: 'profile'; profile: Profile } | { kind: 'reject' };

/** `defaults` ← number, nested plain objects merged field by field (a different VAD type replaces the object). */
function mergeFields(base: ProfileFields, over: ProfileFields): ProfileFields {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over) as [string, unknown][]) {
    const b = out[k];
    if (isWireObject(b) && isWireObject(v) && (b['type'] === undefined || b['type'] === v['type'])) {
      out[k] = { ...b, ...v };
    } else {
      out[k] = v;
    }
  }
  return out;
}

/**
 * The built-in and custom tools of a profile: names unique, custom schemas compiled and
 * `${env:NAME}` header values read now. @throws ConfigError naming the entry's field
 */
function resolveTools(
  entries: NonNullable<ProfileFields['tools']>,
  env: NodeJS.ProcessEnv,
  file: string,
  where: string,
): { tools: BuiltinTool[]; customTools: CustomTool[] } {
  const fieldPath = where.slice(where.indexOf(': ') + 2);
  const fail = (field: string, message: string): never => {
    throw new ConfigError(`${file}: ${fieldPath}.${field}`, `${where}.${field}: ${message}`);
  };
  const tools: BuiltinTool[] = [];
  const customTools: CustomTool[] = [];
  const names = new Set<string>();
  entries.forEach((entry, i) => {
    if (typeof entry === 'string') {
      if (!tools.includes(entry)) tools.push(entry);
      names.add(entry);
      return;
    }
    if (names.has(entry.name))
      fail(`tools[${i}].name`, `${JSON.stringify(entry.name)} is already a tool of this profile`);
    names.add(entry.name);
    try {
      customTools.push(new CustomTool(entry, env));
    } catch (err) {
      if (err instanceof MissingEnvVariable)
        fail(`tools[${i}].http.headers.${err.header}`, `${err.message}. Fix: set ${err.variable} in the environment`);
      if (err instanceof BadParametersSchema) fail(`tools[${i}].parameters`, err.message);
      throw err;
    }
  });
  return { tools, customTools };
}

/** A profile's MCP servers: labels unique, `${env:NAME}` header values read now. @throws ConfigError */
function resolveMcpServers(
  entries: NonNullable<ProfileFields['mcp_servers']>,
  env: NodeJS.ProcessEnv,
  file: string,
  where: string,
): McpServer[] {
  const fieldPath = where.slice(where.indexOf(': ') + 2);
  const fail = (field: string, message: string): never => {
    throw new ConfigError(`${file}: ${fieldPath}.${field}`, `${where}.${field}: ${message}`);
  };
  const labels = new Set<string>();
  return entries.map((entry, i) => {
    if (labels.has(entry.label))
      fail(`mcp_servers[${i}].label`, `${JSON.stringify(entry.label)} is already an MCP server of this profile`);
    labels.add(entry.label);
    try {
      return new McpServer(entry, env);
    } catch (err) {
      if (err instanceof MissingEnvVariable)
        fail(`mcp_servers[${i}].headers.${err.header}`, `${err.message}. Fix: set ${err.variable} in the environment`);
      throw err;
    }
  });
}

/** @param file full path (for ConfigError.where) @param where `name: field path` prefix for messages */
function resolveProfile(key: string, f: ProfileFields, file: string, where: string, env: NodeJS.ProcessEnv): Profile {
  const td = f.turn_detection;
  const turnDetection: TurnDetectionSettings =
    td?.type === 'semantic_vad'
      ? { type: 'semantic_vad', eagerness: td.eagerness ?? 'auto' }
      : {
          type: 'server_vad',
          threshold: td?.threshold ?? BUILTIN_DEFAULTS.threshold,
          prefixPaddingMs: td?.prefix_padding_ms ?? BUILTIN_DEFAULTS.prefixPaddingMs,
          silenceDurationMs: td?.silence_duration_ms ?? BUILTIN_DEFAULTS.silenceDurationMs,
        };
  const { tools, customTools } = resolveTools(f.tools ?? [], env, file, where);
  const transferTo = f.transfer_to ?? null;
  if (tools.includes('transfer_call') && transferTo === null) {
    throw new ConfigError(
      `${file}: ${where.slice(where.indexOf(': ') + 2)}.transfer_to`,
      `${where}.transfer_to: is required when tools include transfer_call (an E.164 number to dial)`,
    );
  }
  const transcription = f.transcription
    ? {
        model: f.transcription.model,
        ...(f.transcription.language !== undefined ? { language: f.transcription.language } : {}),
        ...(f.transcription.prompt !== undefined ? { prompt: f.transcription.prompt } : {}),
      }
    : null;
  return {
    key,
    instructions: f.instructions ?? BUILTIN_DEFAULTS.instructions,
    voice: f.voice ?? BUILTIN_DEFAULTS.voice,
    greeting: f.greeting === undefined || f.greeting === null || f.greeting.trim() === '' ? null : f.greeting,
    goodbye: f.goodbye === undefined || f.goodbye === null || f.goodbye.trim() === '' ? null : f.goodbye,
    greetingInterruptible: f.greeting_interruptible ?? true,
    turnDetection,
    transcription,
    ...resolveSessionSettings(f),
    tools,
    customTools,
    mcpServers: resolveMcpServers(f.mcp_servers ?? [], env, file, where),
    contextUrl: f.context_url ?? null,
    contextTimeoutMs: f.context_timeout_ms ?? DEFAULT_CONTEXT_TIMEOUT_MS,
    ...eventFields(f, file, where),
    transferTo,
    modelAudio: f.model_audio ?? 'pcm16',
    outbound: {
      greeting: blankToNull(f.outbound?.greeting),
      machineDetection: f.outbound?.machine_detection ?? 'voicemail',
      voicemailMessage: blankToNull(f.outbound?.voicemail_message),
    },
  };
}

function blankToNull(text: string | null | undefined): string | null {
  return text === undefined || text === null || text.trim() === '' ? null : text;
}

/** The §10 event fields, resolved. @throws ConfigError naming `analysis.schema` */
function eventFields(f: ProfileFields, file: string, where: string): Pick<Profile, 'webhooks' | 'analysis'> {
  try {
    return resolveEventFields(f);
  } catch (err) {
    if (!(err instanceof BadAnalysisSchema)) throw err;
    const field = `${where.slice(where.indexOf(': ') + 2)}.analysis.schema`;
    throw new ConfigError(`${file}: ${field}`, `${where}.analysis.schema: ${err.message}`);
  }
}

function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (typeof s === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `${out === '' ? '' : '.'}${JSON.stringify(String(s))}`;
  }
  return out || '(top level)';
}

function valueAt(root: unknown, segments: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const s of segments) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[s];
  }
  return v;
}

/**
 * Reads E.164 keys as written: YAML reads an unquoted `+15551230001` as the integer
 * 15551230001, which would lose the `+`. Keys of the `numbers` map keep their source text.
 */
function keepNumberKeysAsWritten(doc: Document): void {
  const numbers = doc.get('numbers', true);
  if (!isMap(numbers)) return;
  for (const pair of numbers.items) {
    if (isScalar(pair.key) && typeof pair.key.source === 'string' && typeof pair.key.value !== 'string') {
      pair.key.value = pair.key.source;
    }
  }
}

/**
 * The issue to report for a value no branch of a union accepted: a `tools` entry is a
 * built-in name when it is a string and a custom tool otherwise, so the branch of its own
 * shape says what is wrong (with its full path), not "invalid input".
 */
function branchIssue(issue: z.core.$ZodIssue, data: unknown): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union') return issue;
  const branch = issue.errors[typeof valueAt(data, issue.path) === 'string' ? 0 : 1] ?? issue.errors[0];
  const inner = branch?.[0];
  return inner === undefined ? issue : branchIssue({ ...inner, path: [...issue.path, ...inner.path] }, data);
}

/**
 * Parses and validates a numbers file's text.
 * @param file path used in error messages
 * @throws ConfigError naming the file and the field path
 */
export function parseProfiles(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Profiles {
  const name = path.basename(file);
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const line = err.linePos?.[0];
    const where = line ? `${name}:${line.line}:${line.col}` : name;
    throw new ConfigError(file, `${where}: not valid YAML: ${err.message.split('\n')[0]}`);
  }
  keepNumberKeysAsWritten(doc);
  const data: unknown = doc.toJS() ?? {};
  const parsed = NumbersFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = branchIssue(parsed.error.issues[0]!, data);
    const segments = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : issue.path;
    const fieldPath = formatPath(segments);
    const value = valueAt(data, issue.path);
    const shown =
      issue.code === 'unrecognized_keys' ? 'is not a known field' : `${JSON.stringify(value)} ${issue.message}`;
    throw new ConfigError(`${file}: ${fieldPath}`, `${name}: ${fieldPath}: ${shown}`);
  }
  const raw = parsed.data;
  const baseFields = raw.defaults ?? {};
  const defaults = resolveProfile(DEFAULTS_KEY, baseFields, file, `${name}: defaults`, env);
  const byNumber = new Map<string, Profile>();
  for (const [number, fields] of Object.entries(raw.numbers ?? {})) {
    const where = `${name}: numbers.${JSON.stringify(number)}`;
    if (!isE164(number)) {
      throw new ConfigError(
        `${file}: numbers.${JSON.stringify(number)}`,
        `${where}: key is not an E.164 number; write it as "+<country code><number>", e.g. "+15551230001"`,
      );
    }
    byNumber.set(number, resolveProfile(number, mergeFields(baseFields, fields ?? {}), file, where, env));
  }
  return { file, raw, rejectUnknown: raw.reject_unknown ?? false, defaults, byNumber };
}

/**
 * The numbers file cannot be edited as asked: it is the shipped example, read-only, or does
 * not parse (maps to HTTP 409: the request was fine, the file is in the way).
 */
export class NumbersFileConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NumbersFileConflict';
  }
}

/** The pair of the `numbers` map whose key is `number`, however the key was written. */
function numberPair(numbers: ReturnType<Document['get']>, number: string) {
  if (!isMap(numbers)) return undefined;
  return numbers.items.find((pair) => isScalar(pair.key) && (pair.key.source === number || pair.key.value === number));
}

/**
 * The numbers file's text with one number's profile set to `fields`, edited in place with
 * `yaml`'s Document API: every comment, blank line and key order outside the fields that
 * change is kept (a field that stays keeps its comment too). The result is validated by the
 * same parser as the file itself, so the API and the file accept exactly the same things.
 * @throws ConfigError when the fields are invalid (naming the field)
 * @throws NumbersFileConflict when the current text does not parse
 */
export function withNumberInText(
  text: string,
  number: string,
  fields: Record<string, unknown>,
  file: string,
): { text: string; profiles: Profiles } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new NumbersFileConflict(
      `${path.basename(file)} does not parse as YAML right now; fix the file first (the bridge log names the line)`,
    );
  }
  // An unquoted +1555… key reads as an integer; keep it a string (it is written back quoted).
  keepNumberKeysAsWritten(doc);
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new NumbersFileConflict(`${path.basename(file)} is not a map of defaults and numbers; fix the file first`);
  }
  if (!isMap(doc.get('numbers', true))) doc.set('numbers', doc.createNode({}));
  const numbers = doc.get('numbers', true);
  const pair = numberPair(numbers, number);
  if (pair !== undefined && isMap(pair.value)) {
    const profile = pair.value;
    for (const item of [...profile.items]) {
      const key = isScalar(item.key) ? item.key.value : item.key;
      if (typeof key === 'string' && !Object.hasOwn(fields, key)) profile.delete(item.key);
    }
    for (const [key, value] of Object.entries(fields)) {
      const current = profile.get(key, true);
      // A scalar changed in place keeps its comment (`voice: verse # chosen by the owner`).
      if (isScalar(current) && (value === null || typeof value !== 'object')) current.value = value;
      else profile.set(key, doc.createNode(value));
    }
  } else if (pair !== undefined) {
    pair.value = doc.createNode(fields);
  } else if (isMap(numbers)) {
    // Quoted, as numbers.example.yaml writes them: an unquoted +1555… would read as an integer.
    const key = new Scalar(number);
    key.type = 'QUOTE_DOUBLE';
    numbers.set(key, doc.createNode(fields));
  }
  const edited = doc.toString();
  return { text: edited, profiles: parseProfiles(edited, file) };
}

/**
 * Refuses `via: model` MCP servers when the bridge speaks the beta dialect (it has no
 * `type: "mcp"` tools): a configuration error naming the file, the profile and the field.
 * @throws ConfigError
 */
export function checkMcpServersForDialect(profiles: Profiles, dialect: Dialect): void {
  if (dialect !== 'beta') return;
  for (const p of [profiles.defaults, ...profiles.byNumber.values()]) {
    const i = (p.mcpServers ?? []).findIndex((m) => m.via === 'model');
    if (i < 0) continue;
    const where = p.key === DEFAULTS_KEY ? 'defaults' : `numbers.${JSON.stringify(p.key)}`;
    const field = `${where}.mcp_servers[${i}].via`;
    throw new ConfigError(
      `${profiles.file}: ${field}`,
      `${path.basename(profiles.file)}: ${field}: "model" needs the GA realtime dialect ` +
        '(beta has no type "mcp" tools). Fix: use via: bridge, or a GA endpoint',
    );
  }
}

/** Resolves the profile for a called number. */
export function lookupProfile(profiles: Profiles, to: string): Lookup {
  const profile = profiles.byNumber.get(to);
  if (profile) return { kind: 'profile', profile };
  if (profiles.rejectUnknown) return { kind: 'reject' };
  return { kind: 'profile', profile: profiles.defaults };
}

/** Time to let an editor finish writing before re-reading (editors often write in several steps). */
const RELOAD_DEBOUNCE_MS = 100;

/**
 * The live profiles: loaded at start-up (invalid file → ConfigError, so start-up stops),
 * then watched. A valid edit applies to the next call; an invalid one is logged with its
 * field path and the last good profiles stay in force.
 */
export class NumbersRegistry {
  private profiles: Profiles;
  private watcher: FSWatcher | null = null;
  private reloadTimer: TimerHandle | null = null;
  private readonly listeners = new Set<(p: Profiles) => void>();
  /** Several instances (SPEC §14): the shared document and where edits go; null = the file */
  private shared: { text: string; onPut: (number: string, fields: Record<string, unknown>) => void } | null = null;

  private constructor(
    readonly file: string,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly check: (p: Profiles) => void,
  ) {
    this.profiles = this.read();
  }

  /**
   * Loads `file` and starts watching it (unless `watch: false`). `check` vets every version
   * (load, reload, PUT) beyond the file's own rules, e.g. against the realtime dialect in use.
   * @throws ConfigError
   */
  static open(
    file: string,
    logger: Logger,
    clock: Clock,
    options: { watch?: boolean; check?: (p: Profiles) => void } = {},
  ): NumbersRegistry {
    const registry = new NumbersRegistry(file, logger, clock, options.check ?? (() => undefined));
    if (options.watch ?? true) registry.startWatching();
    return registry;
  }

  private read(): Profiles {
    const profiles = NumbersRegistry.readFile(this.file);
    this.check(profiles);
    return profiles;
  }

  private static readFile(file: string): Profiles {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ConfigError(
        file,
        `${file}: cannot read the numbers file (${code ?? String(err)}). ` +
          'Fix: create it (see numbers.example.yaml) or point NUMBERS_FILE at it',
      );
    }
    return parseProfiles(text, file);
  }

  /** The profiles in force now. */
  current(): Profiles {
    return this.profiles;
  }

  lookup(to: string): Lookup {
    return lookupProfile(this.profiles, to);
  }

  /** Called after every successful reload. */
  onChange(listener: (p: Profiles) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Re-reads the file now. Returns the error when the file is invalid (the previous
   * profiles stay in force).
   */
  reload(): ConfigError | null {
    try {
      const next = this.read();
      this.profiles = next;
      this.logger.info({ file: this.file, numbers: next.byNumber.size }, 'numbers file reloaded');
      for (const l of this.listeners) l(next);
      return null;
    } catch (err) {
      const error = err instanceof ConfigError ? err : new ConfigError(this.file, String(err));
      this.logger.error(
        { file: this.file, field: error.where, problem: error.message },
        'numbers file edit rejected; previous profiles stay in force',
      );
      return error;
    }
  }

  /**
   * Several instances (SPEC §14): from now on the profiles are the shared document `text`
   * (PostgreSQL's, seeded from this file), and each {@link putNumber} edit is handed to
   * `onPut` to apply there, instead of writing the file. @throws ConfigError when `text` is invalid
   */
  share(text: string, onPut: (number: string, fields: Record<string, unknown>) => void): void {
    this.profiles = parseProfiles(text, this.file);
    this.shared = { text, onPut };
    for (const l of this.listeners) l(this.profiles);
  }

  /**
   * Another instance changed the shared document: adopt it. An invalid one is logged and the
   * profiles in force stay (as with a bad edit of the file).
   */
  adopt(text: string): void {
    if (this.shared === null || text === this.shared.text) return;
    try {
      this.profiles = parseProfiles(text, this.file);
      this.shared.text = text;
      this.logger.info({ numbers: this.profiles.byNumber.size }, 'profiles changed by another instance');
      for (const l of this.listeners) l(this.profiles);
    } catch (err) {
      const error = err instanceof ConfigError ? err : new ConfigError(this.file, String(err));
      this.logger.error(
        { field: error.where, problem: error.message },
        'shared profiles rejected; previous stay in force',
      );
    }
  }

  /**
   * True when {@link putNumber} may write the file: it is not the shipped example (a tracked
   * file the next `git pull` would fight with) and the process may replace it.
   */
  get writable(): boolean {
    if (path.resolve(this.file) === EXAMPLE_NUMBERS_FILE) return false;
    try {
      accessSync(this.file, fsConstants.W_OK);
      // the atomic write creates a temp file beside it and renames it over
      accessSync(path.dirname(this.file), fsConstants.W_OK);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Sets one number's profile to `fields`, editing the file in place (its comments stay) and
   * writing it back atomically (temp file + rename), so a crash never leaves a half-written file.
   * @throws ConfigError when the fields are invalid (the file is left untouched)
   * @throws NumbersFileConflict when the file does not parse, or is not {@link writable} (checked
   *   after the fields, so a bad profile is reported as such either way)
   */
  putNumber(number: string, fields: Record<string, unknown>): Profile {
    if (!isE164(number)) {
      throw new ConfigError(
        `numbers.${JSON.stringify(number)}`,
        `${JSON.stringify(number)} is not an E.164 number; write it as "+<country code><number>", e.g. "+15551230001"`,
      );
    }
    // validated first: a bad profile is answered as such even where nothing may be written
    const base = this.shared?.text ?? readFileSync(this.file, 'utf8');
    const { text, profiles } = withNumberInText(base, number, fields, this.file);
    this.check(profiles);
    if (this.shared !== null) {
      this.shared.text = text;
      this.profiles = profiles;
      this.shared.onPut(number, fields);
      for (const l of this.listeners) l(profiles);
      return profiles.byNumber.get(number)!;
    }
    if (!this.writable) {
      throw new NumbersFileConflict(
        `no writable numbers file is configured (profiles come from ${path.basename(this.file)}); ` +
          'copy numbers.example.yaml to numbers.yaml or point NUMBERS_FILE at a file of yours, then restart',
      );
    }
    const tmp = path.join(path.dirname(this.file), `.${path.basename(this.file)}.${process.pid}.tmp`);
    try {
      writeFileSync(tmp, text, { mode: 0o644 });
      renameSync(tmp, this.file);
    } catch (err) {
      if (existsSync(tmp)) unlinkSync(tmp);
      throw err;
    }
    this.profiles = profiles;
    for (const l of this.listeners) l(profiles);
    return profiles.byNumber.get(number)!;
  }

  /**
   * Watches the file's directory rather than the file: editors and our own atomic writes
   * replace the file by rename, which a watch on the old inode would miss.
   */
  private startWatching(): void {
    const dir = path.dirname(this.file);
    const base = path.basename(this.file);
    try {
      this.watcher = watch(dir, { persistent: false }, (_event, filename) => {
        if (filename !== null && filename !== base) return;
        if (this.reloadTimer !== null) this.clock.clearTimer(this.reloadTimer);
        this.reloadTimer = this.clock.setTimer(RELOAD_DEBOUNCE_MS, () => {
          this.reloadTimer = null;
          // A rename-based save briefly leaves no file; the next event reloads.
          if (existsSync(this.file)) this.reload();
        });
      });
      this.watcher.on('error', (err) =>
        this.logger.warn({ err, file: this.file }, 'numbers file watch failed; edits need a restart'),
      );
    } catch (err) {
      this.logger.warn({ err, file: this.file }, 'numbers file cannot be watched; edits need a restart');
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.reloadTimer !== null) this.clock.clearTimer(this.reloadTimer);
    this.reloadTimer = null;
  }
}
