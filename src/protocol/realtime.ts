/**
 * The model side, in the bridge's own vocabulary (DESIGN "both dialects, one vocabulary").
 *
 * - {@link ModelCommand}: what the call asks the model to do. The realtime link turns each
 *   command into one wire client event in the session's dialect (GA or beta).
 * - {@link ModelEvent}: what the model told us. The link parses each wire server event
 *   (either dialect) into zero or one of these. Unknown but well-formed events become
 *   `model.other` and are logged once at debug.
 * - {@link ModelLinkEvent}: what happened to the socket itself (open, closed, gave up).
 *
 * Wire spellings (`response.output_audio.delta`, `session.type`, …) live only in the
 * codec below and in `dialects.ts`; nothing outside `protocol/` sees them.
 *
 * Upstream: the OpenAI Realtime API reference (GA, 2025-08+:
 * https://platform.openai.com/docs/api-reference/realtime, and the `openai` npm package's
 * `resources/realtime` types) and the Azure OpenAI 2024 preview reference (beta:
 * https://learn.microsoft.com/azure/ai-foundry/openai/realtime-audio-reference).
 */
import type { ModelSettings } from './session-fields.js';

/** Audio encoding on the model side, both directions. `pcm16` = 16-bit LE mono 24 kHz; `pcmu` = G.711 μ-law 8 kHz. */
export type ModelAudioFormat = 'pcm16' | 'pcmu';

/** Bytes per ms of model-side audio: PCM16 at 24 kHz is 48, μ-law at 8 kHz is 8. */
export function modelAudioBytesPerMs(format: ModelAudioFormat): number {
  return format === 'pcm16' ? 48 : 8;
}

export type TurnDetection =
  | {
      type: 'server_vad';
      /** 0–1; higher needs louder speech */
      threshold: number;
      prefixPaddingMs: number;
      silenceDurationMs: number;
      createResponse: boolean;
      interruptResponse: boolean;
    }
  | {
      type: 'semantic_vad';
      eagerness: 'low' | 'medium' | 'high' | 'auto';
      createResponse: boolean;
      interruptResponse: boolean;
    };

export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the arguments object */
  parameters: Record<string, unknown>;
}

/**
 * An MCP server the realtime API calls itself (GA `type: "mcp"` tool, PROTOCOLS.md §10.3).
 * Calls run without approval (`require_approval: "never"`).
 */
export interface McpToolDefinition {
  serverLabel: string;
  serverUrl: string;
  /** null = every tool the server lists */
  allowedTools: readonly string[] | null;
  /** sent to the MCP server by the provider; values may be secrets (recordings redact them) */
  headers: Record<string, string>;
}

/** Everything `session.update` carries. Sent whole at start and after every reconnect. */
export interface SessionConfig {
  instructions: string;
  voice: string;
  audioFormat: ModelAudioFormat;
  /** null = manual turns (commit + response.create by the client) */
  turnDetection: TurnDetection | null;
  /** Caller-side transcription; null = off */
  transcription: { model: string; language?: string; prompt?: string } | null;
  tools: ToolDefinition[];
  /** MCP servers the provider calls (GA only); absent = none */
  mcpServers?: readonly McpToolDefinition[];
  /** the profile's model settings (SPEC §11), each sent only when set */
  settings?: ModelSettings;
}

/** A conversation item the bridge creates. */
export type ConversationItemInput =
  | { kind: 'message'; role: 'user' | 'assistant' | 'system'; text: string }
  | { kind: 'function_call_output'; callId: string; output: string };

/** What the call asks of the model. One command → one wire client event. */
export type ModelCommand =
  | { type: 'model.updateSession'; session: SessionConfig }
  /** raw audio bytes in the session's format (the link base64-encodes) */
  | { type: 'model.appendAudio'; audio: Uint8Array }
  | { type: 'model.commitAudio' }
  | { type: 'model.clearAudio' }
  /**
   * Liveness probe: a `session.update` that changes nothing (GA: only `session.type`; beta: an
   * empty session). The server answers `session.updated`; voice, formats and VAD are untouched.
   */
  | { type: 'model.probe' }
  | {
      type: 'model.createResponse';
      instructions?: string;
      /**
       * An out-of-band text response (PROTOCOLS.md §10.2): `conversation: "none"`, text output,
       * `metadata` echoed in `response.created`/`.done`; the conversation is left as it was.
       */
      outOfBand?: { metadata: Record<string, string> };
    }
  | { type: 'model.cancelResponse'; responseId?: string }
  | { type: 'model.truncate'; itemId: string; contentIndex: number; audioEndMs: number }
  | { type: 'model.deleteItem'; itemId: string }
  | { type: 'model.createItem'; item: ConversationItemInput };

/** The parts of a conversation item the bridge looks at. */
export interface ItemSummary {
  id: string;
  /** `message`, `function_call`, `function_call_output`, or whatever the server sends */
  type: string;
  role: 'user' | 'assistant' | 'system' | null;
  status: string | null;
  /** function_call only */
  name: string | null;
  callId: string | null;
  arguments: string | null;
  /** text or audio transcript of the content parts, joined; null when none */
  text: string | null;
  /** `mcp_call` and `mcp_list_tools` items only: the server, and the call's output or error */
  mcp?: { serverLabel: string; output: string | null; error: string | null };
}

/** The MCP events of the realtime API (PROTOCOLS.md §10.3), GA spelling without the `response.` prefix. */
export type McpPhase =
  | 'mcp_list_tools.in_progress'
  | 'mcp_list_tools.completed'
  | 'mcp_list_tools.failed'
  | 'mcp_call_arguments.delta'
  | 'mcp_call_arguments.done'
  | 'mcp_call.in_progress'
  | 'mcp_call.completed'
  | 'mcp_call.failed';

export type ResponseStatus = 'completed' | 'cancelled' | 'incomplete' | 'failed' | 'in_progress';

export interface Usage {
  totalTokens: number;
  inputTokens: number;
  outputTokens: number;
}

/** What the model told us, one per wire server event. */
export type ModelEvent =
  | {
      type: 'model.sessionCreated';
      sessionId: string | null;
      model: string | null;
      /** epoch ms, when the server says */
      expiresAtMs: number | null;
      /**
       * the server's effective configuration, as far as it maps onto {@link SessionConfig}
       * (added by the codec; optional for builders)
       */
      session?: Partial<SessionConfig>;
    }
  | {
      type: 'model.sessionUpdated';
      /** the effective configuration the server echoed (optional for builders) */
      session?: Partial<SessionConfig>;
    }
  | {
      type: 'model.error';
      code: string | null;
      errorType: string;
      message: string;
      /** client event id it answers, when known */ eventId: string | null;
    }
  | { type: 'model.speechStarted'; audioStartMs: number; itemId: string }
  | { type: 'model.speechStopped'; audioEndMs: number; itemId: string }
  | { type: 'model.inputCommitted'; itemId: string; previousItemId: string | null }
  | { type: 'model.inputCleared' }
  | { type: 'model.inputTranscriptDone'; itemId: string; contentIndex: number; transcript: string }
  | { type: 'model.inputTranscriptFailed'; itemId: string; message: string }
  /** conversation.item.created (beta) / conversation.item.added (GA) */
  | { type: 'model.itemAdded'; item: ItemSummary; previousItemId: string | null }
  | { type: 'model.itemDone'; item: ItemSummary }
  | { type: 'model.itemTruncated'; itemId: string; contentIndex: number; audioEndMs: number }
  | { type: 'model.itemDeleted'; itemId: string }
  | { type: 'model.responseCreated'; responseId: string }
  | { type: 'model.outputItemAdded'; responseId: string; outputIndex: number; item: ItemSummary }
  | { type: 'model.outputItemDone'; responseId: string; outputIndex: number; item: ItemSummary }
  /** audio already base64-decoded, in the session's output format */
  | {
      type: 'model.audioDelta';
      responseId: string;
      itemId: string;
      outputIndex: number;
      contentIndex: number;
      audio: Buffer;
    }
  | { type: 'model.audioDone'; responseId: string; itemId: string; contentIndex: number }
  | { type: 'model.transcriptDelta'; responseId: string; itemId: string; contentIndex: number; delta: string }
  | { type: 'model.transcriptDone'; responseId: string; itemId: string; contentIndex: number; transcript: string }
  | { type: 'model.textDone'; responseId: string; itemId: string; contentIndex: number; text: string }
  /** `name` is null in the beta dialect (take it from output_item.added) */
  | {
      type: 'model.functionCallDone';
      responseId: string;
      itemId: string;
      callId: string;
      name: string | null;
      arguments: string;
    }
  | {
      type: 'model.responseDone';
      responseId: string;
      status: ResponseStatus;
      /** status_details.reason (`turn_detected`, `client_cancelled`, `max_output_tokens`, …) */
      reason: string | null;
      /** status_details.error.code for failed responses */
      errorCode: string | null;
      output: ItemSummary[];
      usage: Usage | null;
    }
  /**
   * The provider listed or called a `type: "mcp"` tool's server. The call itself (name,
   * arguments, output) arrives as an `mcp_call` item in `model.outputItemDone`.
   */
  | { type: 'model.mcp'; phase: McpPhase; itemId: string; outputIndex: number | null }
  | { type: 'model.rateLimits'; limits: { name: string; limit: number; remaining: number; resetSeconds: number }[] }
  /**
   * well-formed but not used by the bridge (content_part.*, *.delta we don't need, unknown types).
   * `wireType` is the event's type in GA spelling (beta names are translated, unknown names kept).
   */
  | { type: 'model.other'; wireType: string };

/** What happened to the realtime socket (emitted by the link, not parsed from the wire). */
export type ModelLinkEvent =
  /** socket open and ready for commands; `reconnect` is true after a drop */
  | { type: 'model.open'; reconnect: boolean }
  /** socket closed; the link will retry after `retryInMs` when `willRetry` */
  | { type: 'model.closed'; code: number; reason: string; willRetry: boolean; retryInMs: number | null }
  /** the link gave up: fatal error code or retries exhausted. No more events follow. */
  | { type: 'model.failed'; message: string; providerCode: string | null };
