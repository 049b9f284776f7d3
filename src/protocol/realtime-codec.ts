/**
 * The Realtime wire codec: server events (either dialect) → {@link ModelEvent}, and
 * {@link ModelCommand} → client events (either dialect). Pure and synchronous, no sockets,
 * so the realtime link, the call replayer and tests all share one parser.
 *
 * Parsing validates with zod at the edge (STYLE §2.6): a known event with a wrong shape is
 * a `{ ok: false, reason }` (the reason names the event type and the bad field, never a
 * payload value); an unknown but well-formed event becomes `model.other`. The audio and
 * transcript deltas take the fast path in realtime-delta-fast.ts first, held equal to their
 * schemas by a property test.
 *
 * Wire shapes follow openai-node `resources/realtime/realtime.ts` (GA) and PROTOCOLS.md §5;
 * beta is translated by `dialects.ts` before validation, so the schemas here are GA only.
 */
import { z } from 'zod';

import { decodeStrictBase64 } from './base64.js';
import { clientEventFromGa, serverEventToGa, type Dialect } from './dialects.js';
import { parseDeltaFast } from './realtime-delta-fast.js';
import { settingsSessionFieldsGa } from './session-fields.js';
import { isWireObject, type WireObject } from './wire-object.js';
import type {
  ItemSummary,
  McpPhase,
  McpToolDefinition,
  ModelCommand,
  ModelEvent,
  ResponseStatus,
  SessionConfig,
  ToolDefinition,
  TurnDetection,
} from './realtime.js';

/** Result of parsing one server event. */
export type ParseResult = { ok: true; event: ModelEvent } | { ok: false; reason: string };

// ---------------------------------------------------------------------------------------------
// Schemas (GA spelling). Objects are not strict: servers add fields over time.
// ---------------------------------------------------------------------------------------------

const nullableString = z.string().nullish();

const ContentPartSchema = z.object({
  type: z.string().optional(),
  text: nullableString,
  transcript: nullableString,
});

const ItemSchema = z.object({
  id: z.string(),
  type: z.string(),
  role: nullableString,
  status: nullableString,
  name: nullableString,
  call_id: nullableString,
  arguments: nullableString,
  content: z.array(ContentPartSchema).nullish(),
  /** mcp_call / mcp_list_tools */
  server_label: nullableString,
  output: nullableString,
  error: z.unknown().optional(),
});

const UsageSchema = z.object({
  total_tokens: z.number().optional(),
  input_tokens: z.number().optional(),
  output_tokens: z.number().optional(),
});

const ResponseSchema = z.object({
  id: z.string(),
  status: z.enum(['completed', 'cancelled', 'incomplete', 'failed', 'in_progress']).optional(),
  status_details: z
    .object({
      type: nullableString,
      reason: nullableString,
      error: z.object({ type: nullableString, code: nullableString }).nullish(),
    })
    .nullish(),
  output: z.array(z.unknown()).nullish(),
  usage: UsageSchema.nullish(),
});

const AudioFormatSchema = z.object({ type: z.string(), rate: z.number().optional() });

const TurnDetectionSchema = z.object({
  type: z.string(),
  threshold: z.number().optional(),
  prefix_padding_ms: z.number().optional(),
  silence_duration_ms: z.number().optional(),
  create_response: z.boolean().optional(),
  interrupt_response: z.boolean().optional(),
  eagerness: z.string().optional(),
});

const ToolSchema = z.object({
  type: z.string().optional(),
  name: z.string().optional(),
  description: z.string().optional(),
  parameters: z.unknown().optional(),
});

const SessionSchema = z.object({
  id: z.string().optional(),
  model: z.string().optional(),
  expires_at: z.number().nullish(),
  instructions: z.string().optional(),
  audio: z
    .object({
      input: z
        .object({
          format: AudioFormatSchema.nullish(),
          transcription: z.object({ model: z.string().optional(), language: nullableString }).nullish(),
          turn_detection: TurnDetectionSchema.nullish(),
        })
        .optional(),
      output: z.object({ format: AudioFormatSchema.nullish(), voice: z.unknown().optional() }).optional(),
    })
    .optional(),
  tools: z.array(ToolSchema).nullish(),
});

const ids = {
  response_id: z.string(),
  item_id: z.string(),
  output_index: z.number().int(),
  content_index: z.number().int(),
};

const S = {
  sessionCreated: z.object({ session: SessionSchema }),
  error: z.object({
    error: z.object({
      type: z.string().optional(),
      code: nullableString,
      message: z.string().optional(),
      event_id: nullableString,
    }),
  }),
  speechStarted: z.object({ audio_start_ms: z.number(), item_id: z.string() }),
  speechStopped: z.object({ audio_end_ms: z.number(), item_id: z.string() }),
  committed: z.object({ item_id: z.string(), previous_item_id: nullableString }),
  transcriptionCompleted: z.object({
    item_id: z.string(),
    content_index: z.number().int().optional(),
    transcript: z.string(),
  }),
  transcriptionFailed: z.object({
    item_id: z.string(),
    error: z.object({ message: nullableString, code: nullableString }).nullish(),
  }),
  itemAdded: z.object({ item: ItemSchema, previous_item_id: nullableString }),
  itemDone: z.object({ item: ItemSchema }),
  truncated: z.object({ item_id: z.string(), content_index: z.number().int(), audio_end_ms: z.number() }),
  deleted: z.object({ item_id: z.string() }),
  response: z.object({ response: ResponseSchema }),
  outputItem: z.object({ response_id: z.string(), output_index: z.number().int(), item: ItemSchema }),
  audioDelta: z.object({ ...ids, delta: z.string() }),
  audioDone: z.object({ response_id: z.string(), item_id: z.string(), content_index: z.number().int() }),
  transcriptDelta: z.object({ ...ids, delta: z.string() }),
  transcriptDone: z.object({ ...ids, transcript: z.string() }),
  textDone: z.object({ ...ids, text: z.string() }),
  functionCallDone: z.object({
    response_id: z.string(),
    item_id: z.string(),
    call_id: z.string(),
    name: nullableString,
    arguments: z.string(),
  }),
  mcpListTools: z.object({ item_id: z.string() }),
  mcpCall: z.object({ item_id: z.string(), output_index: z.number().int().nullish() }),
  rateLimits: z.object({
    rate_limits: z.array(
      z.object({
        name: z.string().optional(),
        limit: z.number().optional(),
        remaining: z.number().optional(),
        reset_seconds: z.number().optional(),
      }),
    ),
  }),
};

// ---------------------------------------------------------------------------------------------
// Mapping helpers
// ---------------------------------------------------------------------------------------------

type ItemWire = z.infer<typeof ItemSchema>;

function role(value: string | null | undefined): ItemSummary['role'] {
  return value === 'user' || value === 'assistant' || value === 'system' ? value : null;
}

/** Summary of a wire item; `text` joins the text and transcripts of its content parts. */
export function summarizeItem(item: ItemWire): ItemSummary {
  const texts = (item.content ?? [])
    .map((part) => part.text ?? part.transcript ?? null)
    .filter((t): t is string => typeof t === 'string' && t.length > 0);
  const summary: ItemSummary = {
    id: item.id,
    type: item.type,
    role: role(item.role),
    status: item.status ?? null,
    name: item.name ?? null,
    callId: item.call_id ?? null,
    arguments: item.arguments ?? null,
    text: texts.length > 0 ? texts.join(' ') : null,
  };
  if (item.type === 'mcp_call' || item.type === 'mcp_list_tools')
    summary.mcp = { serverLabel: item.server_label ?? '', output: item.output ?? null, error: mcpError(item.error) };
  return summary;
}

/** An `mcp_call` item's `error`: a string, or an object with a `message` (the API sends both shapes). */
function mcpError(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (isWireObject(value) && typeof value['message'] === 'string') return value['message'];
  return JSON.stringify(value);
}

/** Strict base64 → bytes, or null when the text is not canonical padded base64 (see `base64.ts`). */
export function decodeBase64(text: string): Buffer | null {
  return decodeStrictBase64(text);
}

/** Effective GA session → the parts of {@link SessionConfig} it determines. */
function summarizeSession(session: z.infer<typeof SessionSchema>): Partial<SessionConfig> {
  const out: Partial<SessionConfig> = {};
  if (session.instructions !== undefined) out.instructions = session.instructions;
  const input = session.audio?.input;
  const output = session.audio?.output;
  if (typeof output?.voice === 'string') out.voice = output.voice;
  const formatType = input?.format?.type;
  if (formatType === 'audio/pcm') out.audioFormat = 'pcm16';
  else if (formatType === 'audio/pcmu') out.audioFormat = 'pcmu';
  if (input !== undefined && 'turn_detection' in input) {
    const td = input.turn_detection;
    if (td === null || td === undefined) out.turnDetection = null;
    else if (td.type === 'server_vad') {
      // Defaults are the documented server defaults (openai-node RealtimeAudioInputTurnDetection).
      out.turnDetection = {
        type: 'server_vad',
        threshold: td.threshold ?? 0.5,
        prefixPaddingMs: td.prefix_padding_ms ?? 300,
        silenceDurationMs: td.silence_duration_ms ?? 500,
        createResponse: td.create_response ?? true,
        interruptResponse: td.interrupt_response ?? true,
      };
    } else if (td.type === 'semantic_vad') {
      const eagerness = td.eagerness;
      out.turnDetection = {
        type: 'semantic_vad',
        eagerness: eagerness === 'low' || eagerness === 'medium' || eagerness === 'high' ? eagerness : 'auto',
        createResponse: td.create_response ?? true,
        interruptResponse: td.interrupt_response ?? true,
      };
    }
  }
  if (input !== undefined && 'transcription' in input) {
    const t = input.transcription;
    out.transcription =
      t === null || t === undefined || t.model === undefined
        ? null
        : { model: t.model, ...(typeof t.language === 'string' ? { language: t.language } : {}) };
  }
  if (session.tools !== undefined && session.tools !== null) {
    out.tools = session.tools
      .filter((t) => (t.type ?? 'function') === 'function' && typeof t.name === 'string')
      .map((t) => ({
        name: t.name as string,
        description: t.description ?? '',
        parameters: (typeof t.parameters === 'object' && t.parameters !== null ? t.parameters : {}) as Record<
          string,
          unknown
        >,
      }));
  }
  return out;
}

function responseStatus(value: string | undefined): ResponseStatus {
  return (value ?? 'completed') as ResponseStatus;
}

// ---------------------------------------------------------------------------------------------
// Server events → ModelEvent
// ---------------------------------------------------------------------------------------------

type Mapper = (event: WireObject) => ModelEvent | string;

function withSchema<T extends z.ZodType>(schema: T, map: (value: z.infer<T>) => ModelEvent | string): Mapper {
  return (event) => {
    const parsed = schema.safeParse(event);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined || issue.path.length === 0 ? '(event)' : issue.path.join('.');
      return `${where}: ${issue?.message ?? 'invalid'}`;
    }
    return map(parsed.data);
  };
}

function mcpListTools(phase: McpPhase): Mapper {
  return withSchema(S.mcpListTools, (e) => ({ type: 'model.mcp', phase, itemId: e.item_id, outputIndex: null }));
}

function mcpCall(phase: McpPhase): Mapper {
  return withSchema(S.mcpCall, (e) => ({
    type: 'model.mcp',
    phase,
    itemId: e.item_id,
    outputIndex: e.output_index ?? null,
  }));
}

const MAPPERS: Readonly<Record<string, Mapper>> = {
  'session.created': withSchema(S.sessionCreated, ({ session }) => ({
    type: 'model.sessionCreated',
    sessionId: session.id ?? null,
    model: session.model ?? null,
    expiresAtMs: typeof session.expires_at === 'number' ? session.expires_at * 1000 : null,
    session: summarizeSession(session),
  })),
  'session.updated': withSchema(S.sessionCreated, ({ session }) => ({
    type: 'model.sessionUpdated',
    session: summarizeSession(session),
  })),
  error: withSchema(S.error, ({ error }) => ({
    type: 'model.error',
    code: error.code ?? null,
    errorType: error.type ?? 'error',
    message: error.message ?? '',
    eventId: error.event_id ?? null,
  })),
  'input_audio_buffer.speech_started': withSchema(S.speechStarted, (e) => ({
    type: 'model.speechStarted',
    audioStartMs: e.audio_start_ms,
    itemId: e.item_id,
  })),
  'input_audio_buffer.speech_stopped': withSchema(S.speechStopped, (e) => ({
    type: 'model.speechStopped',
    audioEndMs: e.audio_end_ms,
    itemId: e.item_id,
  })),
  'input_audio_buffer.committed': withSchema(S.committed, (e) => ({
    type: 'model.inputCommitted',
    itemId: e.item_id,
    previousItemId: e.previous_item_id ?? null,
  })),
  'input_audio_buffer.cleared': () => ({ type: 'model.inputCleared' }),
  'conversation.item.input_audio_transcription.completed': withSchema(S.transcriptionCompleted, (e) => ({
    type: 'model.inputTranscriptDone',
    itemId: e.item_id,
    contentIndex: e.content_index ?? 0,
    transcript: e.transcript,
  })),
  'conversation.item.input_audio_transcription.failed': withSchema(S.transcriptionFailed, (e) => ({
    type: 'model.inputTranscriptFailed',
    itemId: e.item_id,
    message: e.error?.message ?? e.error?.code ?? 'transcription failed',
  })),
  'conversation.item.created': withSchema(S.itemAdded, (e) => ({
    type: 'model.itemAdded',
    item: summarizeItem(e.item),
    previousItemId: e.previous_item_id ?? null,
  })),
  'conversation.item.added': withSchema(S.itemAdded, (e) => ({
    type: 'model.itemAdded',
    item: summarizeItem(e.item),
    previousItemId: e.previous_item_id ?? null,
  })),
  'conversation.item.done': withSchema(S.itemDone, (e) => ({ type: 'model.itemDone', item: summarizeItem(e.item) })),
  'conversation.item.truncated': withSchema(S.truncated, (e) => ({
    type: 'model.itemTruncated',
    itemId: e.item_id,
    contentIndex: e.content_index,
    audioEndMs: e.audio_end_ms,
  })),
  'conversation.item.deleted': withSchema(S.deleted, (e) => ({ type: 'model.itemDeleted', itemId: e.item_id })),
  'response.created': withSchema(S.response, ({ response }) => ({
    type: 'model.responseCreated',
    responseId: response.id,
  })),
  'response.done': withSchema(S.response, ({ response }) => {
    const output: ItemSummary[] = [];
    for (const raw of response.output ?? []) {
      const item = ItemSchema.safeParse(raw);
      if (item.success) output.push(summarizeItem(item.data));
    }
    const usage = response.usage;
    return {
      type: 'model.responseDone',
      responseId: response.id,
      status: responseStatus(response.status),
      reason: response.status_details?.reason ?? null,
      errorCode: response.status_details?.error?.code ?? null,
      output,
      usage:
        usage === null || usage === undefined
          ? null
          : {
              totalTokens: usage.total_tokens ?? 0,
              inputTokens: usage.input_tokens ?? 0,
              outputTokens: usage.output_tokens ?? 0,
            },
    };
  }),
  'response.output_item.added': withSchema(S.outputItem, (e) => ({
    type: 'model.outputItemAdded',
    responseId: e.response_id,
    outputIndex: e.output_index,
    item: summarizeItem(e.item),
  })),
  'response.output_item.done': withSchema(S.outputItem, (e) => ({
    type: 'model.outputItemDone',
    responseId: e.response_id,
    outputIndex: e.output_index,
    item: summarizeItem(e.item),
  })),
  'response.output_audio.delta': withSchema(S.audioDelta, (e) => {
    const audio = decodeBase64(e.delta);
    if (audio === null) return 'delta: not base64';
    return {
      type: 'model.audioDelta',
      responseId: e.response_id,
      itemId: e.item_id,
      outputIndex: e.output_index,
      contentIndex: e.content_index,
      audio,
    };
  }),
  'response.output_audio.done': withSchema(S.audioDone, (e) => ({
    type: 'model.audioDone',
    responseId: e.response_id,
    itemId: e.item_id,
    contentIndex: e.content_index,
  })),
  'response.output_audio_transcript.delta': withSchema(S.transcriptDelta, (e) => ({
    type: 'model.transcriptDelta',
    responseId: e.response_id,
    itemId: e.item_id,
    contentIndex: e.content_index,
    delta: e.delta,
  })),
  'response.output_audio_transcript.done': withSchema(S.transcriptDone, (e) => ({
    type: 'model.transcriptDone',
    responseId: e.response_id,
    itemId: e.item_id,
    contentIndex: e.content_index,
    transcript: e.transcript,
  })),
  'response.output_text.done': withSchema(S.textDone, (e) => ({
    type: 'model.textDone',
    responseId: e.response_id,
    itemId: e.item_id,
    contentIndex: e.content_index,
    text: e.text,
  })),
  'response.function_call_arguments.done': withSchema(S.functionCallDone, (e) => ({
    type: 'model.functionCallDone',
    responseId: e.response_id,
    itemId: e.item_id,
    callId: e.call_id,
    name: e.name ?? null,
    arguments: e.arguments,
  })),
  'mcp_list_tools.in_progress': mcpListTools('mcp_list_tools.in_progress'),
  'mcp_list_tools.completed': mcpListTools('mcp_list_tools.completed'),
  'mcp_list_tools.failed': mcpListTools('mcp_list_tools.failed'),
  'response.mcp_call_arguments.delta': mcpCall('mcp_call_arguments.delta'),
  'response.mcp_call_arguments.done': mcpCall('mcp_call_arguments.done'),
  'response.mcp_call.in_progress': mcpCall('mcp_call.in_progress'),
  'response.mcp_call.completed': mcpCall('mcp_call.completed'),
  'response.mcp_call.failed': mcpCall('mcp_call.failed'),
  'rate_limits.updated': withSchema(S.rateLimits, (e) => ({
    type: 'model.rateLimits',
    limits: e.rate_limits.map((l) => ({
      name: l.name ?? '',
      limit: l.limit ?? 0,
      remaining: l.remaining ?? 0,
      resetSeconds: l.reset_seconds ?? 0,
    })),
  })),
};

/**
 * Parses one server event that is already a JSON value (e.g. a line of a call recording).
 * @param dialect the dialect the event was sent in; beta names and shapes are translated
 */
export function parseServerEventObject(value: unknown, dialect: Dialect): ParseResult {
  if (!isWireObject(value)) return { ok: false, reason: 'server event is not a JSON object' };
  const wire = value;
  if (typeof wire['type'] !== 'string' || wire['type'] === '') {
    return { ok: false, reason: 'server event has no string "type"' };
  }
  const ga = serverEventToGa(wire, dialect);
  return parseDeltaFast(ga) ?? parseGaEventWithSchema(ga);
}

/**
 * The schema path: one server event in GA spelling, validated by its zod schema. The
 * reference that the delta fast path is held equal to
 * (test/unit/protocol/realtime-delta-fast.test.ts).
 */
export function parseGaEventWithSchema(ga: WireObject): ParseResult {
  const type = ga['type'] as string;
  // Own keys only: a type such as "constructor" or "__proto__" must not find Object.prototype's members.
  const mapper = Object.hasOwn(MAPPERS, type) ? MAPPERS[type] : undefined;
  if (mapper === undefined) return { ok: true, event: { type: 'model.other', wireType: type } };
  const result = mapper(ga);
  if (typeof result === 'string') return { ok: false, reason: `${type}: ${result}` };
  return { ok: true, event: result };
}

/**
 * Parses one server event from its wire text. Never throws.
 * - base64 audio is decoded (`model.audioDelta.audio` is a Buffer in the session's output format);
 * - `conversation.item.created` (beta) and `conversation.item.added` (GA) both give `model.itemAdded`;
 * - unknown but well-formed events give `model.other` with the GA spelling of the type;
 * - anything else is `{ ok: false, reason }`; the reason never quotes payload values.
 */
export function parseServerEvent(text: string, dialect: Dialect): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'server event is not JSON' };
  }
  return parseServerEventObject(value, dialect);
}

// ---------------------------------------------------------------------------------------------
// ModelCommand → client events
// ---------------------------------------------------------------------------------------------

function audioFormatGa(format: SessionConfig['audioFormat']): WireObject {
  return format === 'pcm16' ? { type: 'audio/pcm', rate: 24000 } : { type: 'audio/pcmu' };
}

function turnDetectionGa(td: TurnDetection | null): WireObject | null {
  if (td === null) return null;
  if (td.type === 'server_vad') {
    return {
      type: 'server_vad',
      threshold: td.threshold,
      prefix_padding_ms: td.prefixPaddingMs,
      silence_duration_ms: td.silenceDurationMs,
      create_response: td.createResponse,
      interrupt_response: td.interruptResponse,
    };
  }
  return {
    type: 'semantic_vad',
    eagerness: td.eagerness,
    create_response: td.createResponse,
    interrupt_response: td.interruptResponse,
  };
}

function toolGa(tool: ToolDefinition): WireObject {
  return { type: 'function', name: tool.name, description: tool.description, parameters: tool.parameters };
}

/** A GA `type: "mcp"` tool (PROTOCOLS.md §10.3): the provider calls the server, without approval. */
function mcpToolGa(server: McpToolDefinition): WireObject {
  return {
    type: 'mcp',
    server_label: server.serverLabel,
    server_url: server.serverUrl,
    ...(server.allowedTools !== null ? { allowed_tools: [...server.allowedTools] } : {}),
    ...(Object.keys(server.headers).length > 0 ? { headers: { ...server.headers } } : {}),
    require_approval: 'never',
  };
}

/** The whole {@link SessionConfig} as a GA `session` object (`session.type: "realtime"`, audio out). */
export function sessionConfigToGa(config: SessionConfig): WireObject {
  const t = config.transcription;
  const transcription =
    t === null
      ? null
      : {
          model: t.model,
          ...(t.language !== undefined ? { language: t.language } : {}),
          ...(t.prompt !== undefined ? { prompt: t.prompt } : {}),
        };
  const settings = config.settings ?? {};
  const noiseReduction =
    settings.noiseReduction === undefined
      ? {}
      : { noise_reduction: settings.noiseReduction === null ? null : { type: settings.noiseReduction } };
  return {
    type: 'realtime',
    instructions: config.instructions,
    output_modalities: ['audio'],
    audio: {
      input: {
        format: audioFormatGa(config.audioFormat),
        transcription,
        ...noiseReduction,
        turn_detection: turnDetectionGa(config.turnDetection),
      },
      output: {
        format: audioFormatGa(config.audioFormat),
        voice: config.voice,
        ...(settings.speed !== undefined ? { speed: settings.speed } : {}),
      },
    },
    tools: [...config.tools.map(toolGa), ...(config.mcpServers ?? []).map(mcpToolGa)],
    tool_choice: 'auto',
    ...settingsSessionFieldsGa(settings),
  };
}

function commandToGa(cmd: ModelCommand): WireObject {
  switch (cmd.type) {
    case 'model.updateSession':
      return { type: 'session.update', session: sessionConfigToGa(cmd.session) };
    case 'model.probe':
      return { type: 'session.update', session: { type: 'realtime' } };
    case 'model.appendAudio':
      return {
        type: 'input_audio_buffer.append',
        audio: Buffer.from(cmd.audio.buffer, cmd.audio.byteOffset, cmd.audio.byteLength).toString('base64'),
      };
    case 'model.commitAudio':
      return { type: 'input_audio_buffer.commit' };
    case 'model.clearAudio':
      return { type: 'input_audio_buffer.clear' };
    case 'model.createResponse':
      if (cmd.outOfBand !== undefined) {
        return {
          type: 'response.create',
          response: {
            conversation: 'none',
            output_modalities: ['text'],
            ...(cmd.instructions !== undefined ? { instructions: cmd.instructions } : {}),
            metadata: cmd.outOfBand.metadata,
          },
        };
      }
      return cmd.instructions === undefined
        ? { type: 'response.create' }
        : { type: 'response.create', response: { instructions: cmd.instructions } };
    case 'model.cancelResponse':
      return cmd.responseId === undefined
        ? { type: 'response.cancel' }
        : { type: 'response.cancel', response_id: cmd.responseId };
    case 'model.truncate':
      return {
        type: 'conversation.item.truncate',
        item_id: cmd.itemId,
        content_index: cmd.contentIndex,
        // The API wants an integer; flooring never claims more was heard than was.
        audio_end_ms: Math.max(0, Math.floor(cmd.audioEndMs)),
      };
    case 'model.deleteItem':
      return { type: 'conversation.item.delete', item_id: cmd.itemId };
    case 'model.createItem': {
      const item = cmd.item;
      if (item.kind === 'function_call_output') {
        return {
          type: 'conversation.item.create',
          item: { type: 'function_call_output', call_id: item.callId, output: item.output },
        };
      }
      const contentType = item.role === 'assistant' ? 'output_text' : 'input_text';
      return {
        type: 'conversation.item.create',
        item: { type: 'message', role: item.role, content: [{ type: contentType, text: item.text }] },
      };
    }
    default: {
      const never: never = cmd;
      return never;
    }
  }
}

/**
 * Encodes a command as the wire client event (a plain JSON object) for `dialect`.
 * GA: `session.update` carries `session.type: "realtime"`, nested `audio.input/output`;
 * beta: the flat 2024 session (`modalities`, `voice`, `input_audio_format`, …). Assistant
 * text items are `output_text` in GA and `text` in beta; user/system text is `input_text`.
 * @param eventId optional client `event_id`, echoed by the server in `error.event_id`
 */
export function encodeClientEvent(cmd: ModelCommand, dialect: Dialect, eventId?: string): WireObject {
  const ga = commandToGa(cmd);
  const wire = clientEventFromGa(ga, dialect);
  return eventId === undefined ? wire : { event_id: eventId, ...wire };
}

/**
 * The wire bytes (UTF-8 JSON) of `input_audio_buffer.append`, the same in both dialects:
 * exactly `JSON.stringify(encodeClientEvent({ type: 'model.appendAudio', audio }, dialect))`,
 * without building the object, without JSON.stringify re-scanning the base64 for characters
 * to escape (it has none), and as one Buffer: a string made of prefix + base64 + suffix is
 * a rope that `ws` flattens into a second 2.6 kB string before copying it out again, and
 * strings live in the young heap, whose collections (scavenges) are pauses on the bridge's
 * one thread. The bridge sends one append per two caller frames, 25 a second per call.
 */
export function encodeAppendAudioFrame(audio: Uint8Array): Buffer {
  const base64 = Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength).toString('base64');
  const frame = Buffer.allocUnsafe(APPEND_HEAD.length + base64.length + APPEND_TAIL.length);
  frame.set(APPEND_HEAD, 0);
  const end = APPEND_HEAD.length + frame.write(base64, APPEND_HEAD.length, 'latin1');
  frame.set(APPEND_TAIL, end);
  return frame;
}

const APPEND_HEAD = Buffer.from('{"type":"input_audio_buffer.append","audio":"', 'latin1');
const APPEND_TAIL = Buffer.from('"}', 'latin1');
