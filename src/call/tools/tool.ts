/**
 * What a tool is to the session (SPEC §6.6, §9): its declaration for the model, and what
 * calling it means — a plan, a plain value that `CallSession` carries out. A tool never acts
 * by itself: it cannot send, wait or end anything, so every timing rule (hang up after the
 * goodbye has played, one `response.create` per response, barge-in) stays in the session.
 */
import type { Profile } from '../../config/numbers.js';
import type { ToolDefinition } from '../../protocol/realtime.js';

/** What a call of a tool means. */
export type ToolPlan =
  /**
   * Answer the model now with `output` (the `function_call_output`). `respond`: ask the model
   * to carry on once every call of its response has an output. `play`: μ-law 8 kHz audio for
   * the far end, played in-band after whatever is already queued (DTMF tones, say).
   */
  | { kind: 'output'; output: string; respond: boolean; play?: Uint8Array }
  /**
   * End the call once the assistant's audio of this response has played: through Twilio's
   * REST API when the bridge has credentials, else by closing the media stream.
   */
  | { kind: 'end'; output: string; detail: string | null }
  /**
   * Redirect the call to `to` through Twilio's REST API once the assistant's audio of this
   * response has played; if Twilio refuses, the model gets `failedOutput` and the call goes on.
   */
  | { kind: 'transfer'; to: string; detail: string | null; failedOutput: string }
  /**
   * Work outside the session (an HTTP request, an MCP call): the runner runs `run`, and its
   * output comes back later as a `tool.done` event. Jobs of one response run concurrently; a
   * barge-in does not cancel them.
   */
  | {
      kind: 'job';
      run: () => Promise<string>;
      /** said (as a response's instructions) when the job runs longer than `afterMs` and the caller hears nothing */
      wait?: { message: string; afterMs: number };
    };

/** The call a tool is used in, as a tool backend is told (SPEC §9 `call`). */
export interface CallInfo {
  callSid: string;
  from: string;
  to: string;
  /** the profile's number key, `defaults` for an unlisted number */
  profile: string;
  direction: 'inbound' | 'outbound';
  /** context variables plus `caller_number` and `called_number`; filled in when the context answers */
  variables: Record<string, string>;
}

/** What a tool may look at when it is called. */
export interface ToolContext {
  profile: Profile;
  /** Twilio REST credentials exist (hang-up and transfer through the API) */
  canUseRest: boolean;
  /** the model's `call_id` for this call (an HTTP tool's idempotency key) */
  toolCallId?: string;
  /** absent where no real call exists (a replay) */
  call?: CallInfo;
}

/** One tool: one entry of the tool table. */
export interface ToolEntry {
  declaration: ToolDefinition;
  /**
   * What this call means. `args` is the arguments object the model sent, or null when it
   * sent something that is not a JSON object (a tool decides whether it can do without).
   */
  plan(args: Record<string, unknown> | null, ctx: ToolContext): ToolPlan;
}

/** The tools one call offers the model, by name. */
export type ToolTable = ReadonlyMap<string, ToolEntry>;

/** An answer for the model: `{"ok": false, "error": …}`, as compact JSON. */
export function toolError(error: string): string {
  return JSON.stringify({ ok: false, error });
}

/** The `reason` argument when the model gave one (a few words for the log and the call record). */
export function reasonOf(args: Record<string, unknown> | null): string | null {
  const reason = args?.['reason'];
  return typeof reason === 'string' ? reason.slice(0, 200) : null;
}

/** A `reason` parameter, as the built-in tools declare it. */
export function reasonParameter(description: string): Record<string, unknown> {
  return {
    type: 'object',
    properties: { reason: { type: 'string', description } },
    required: [],
    additionalProperties: false,
  };
}
