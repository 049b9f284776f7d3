/**
 * The model session as the call keeps it (SPEC §6.1, §6.7): what `session.update` tells the
 * model, whether the model still answers (the stall watch), and when the session is renewed
 * before the provider ends it. Pure: it says which timers and commands are due; the session
 * decides what a stall means for the call.
 */
import type { McpServer } from '../config/mcp-servers.js';
import type { Profile } from '../config/numbers.js';
import type { McpToolDefinition, SessionConfig, ToolDefinition, TurnDetection } from '../protocol/realtime.js';
import type { CallCommand, LogCommand, TimerCommand } from './events.js';

/**
 * The session configuration sent with every `session.update`. `interruptResponse` is false
 * while a greeting that must not be interrupted plays: the server's VAD must not cancel it either.
 * `createResponse` is false while an outbound call does not yet know who answered
 * (`answering-machine.ts`): the model must not answer a recorded greeting on its own.
 */
export function sessionConfigFor(
  profile: Profile,
  interruptResponse: boolean,
  tools: ToolDefinition[],
  createResponse = true,
): SessionConfig {
  const td = profile.turnDetection;
  const turnDetection: TurnDetection =
    td.type === 'server_vad'
      ? {
          type: 'server_vad',
          threshold: td.threshold,
          prefixPaddingMs: td.prefixPaddingMs,
          silenceDurationMs: td.silenceDurationMs,
          createResponse,
          interruptResponse,
        }
      : { type: 'semantic_vad', eagerness: td.eagerness, createResponse, interruptResponse };
  const mcpServers = (profile.mcpServers ?? []).filter((s) => s.via === 'model');
  return {
    instructions: profile.instructions,
    voice: profile.voice,
    audioFormat: profile.modelAudio,
    turnDetection,
    transcription: profile.transcription,
    tools,
    ...(mcpServers.length > 0 ? { mcpServers: mcpServers.map(mcpToolFor) } : {}),
    ...(profile.modelSettings !== undefined ? { settings: profile.modelSettings } : {}),
  };
}

/** A `via: model` MCP server as the provider gets it (its header values resolved). */
function mcpToolFor(server: McpServer): McpToolDefinition {
  return {
    serverLabel: server.label,
    serverUrl: server.url,
    allowedTools: server.allowedTools,
    headers: server.resolvedHeaders(),
  };
}

/**
 * When to renew a session that expires at `expiresAtMs` (epoch ms): `leadMs` before the end,
 * or half-way through a session shorter than twice the lead — renewing "now" got the same
 * expiry again and reconnected every second. Null when the expiry says nothing usable (none,
 * 0, already past, a skewed clock): the provider's `session_expired` and close still make
 * the link reconnect.
 */
export function renewalDelayMs(expiresAtMs: number | null, nowMs: number, leadMs: number): number | null {
  const remainingMs = expiresAtMs === null ? 0 : expiresAtMs - nowMs;
  if (remainingMs <= 0) return null;
  return Math.max(1_000, remainingMs > 2 * leadMs ? remainingMs - leadMs : remainingMs / 2);
}

/** What the stall timer found: the model owes an answer and said nothing, or is idle and gets a probe. */
export type StallVerdict = 'reconnect' | 'probe' | null;

/** The stall watch and the renewal timer of one call's model session (see the file header). */
export class ModelWatch {
  /** the model owes an answer: a command it acknowledges went out, or a barge-in awaits its effect */
  owed = false;
  private expiresAtMs: number | null = null;

  constructor(
    private readonly stallTimeoutMs: number,
    private readonly renewLeadMs: number,
  ) {}

  /** After a model event: the stall timer runs while the model is open and owes, or may owe, an answer. */
  rearm(open: boolean, expecting: boolean): TimerCommand {
    return open && (this.owed || expecting) ? this.stallTimer() : { type: 'timer.cancel', name: 'modelStall' };
  }

  stallTimer(): TimerCommand {
    return { type: 'timer.set', name: 'modelStall', delayMs: this.stallTimeoutMs };
  }

  /**
   * The stall timer fired: reconnect a model that owes an answer. An idle one is probed while
   * the call is live: silent with nothing owed is fine while the caller is silent, a stall if
   * the caller is talking (no speech_started will ever come). The probe — the unchanged
   * session, answered by `session.updated` — makes a stalled model owe an answer, so it is
   * found a timeout later.
   */
  stalled(open: boolean, responding: boolean, live: boolean): StallVerdict {
    if (!open) return null;
    if (this.owed || responding) return 'reconnect';
    return live ? 'probe' : null;
  }

  /**
   * The stall timer fired (see {@link stalled}): an idle model gets the probe and the timer
   * again; true when the model owes an answer and must be reconnected.
   */
  stallFired(open: boolean, responding: boolean, live: boolean, out: CallCommand[]): boolean {
    const verdict = this.stalled(open, responding, live);
    if (verdict === 'probe') {
      out.push({ type: 'model.probe' }, this.stallTimer());
      this.owed = true;
    }
    return verdict === 'reconnect';
  }

  /** `session.created` said when the session expires: the renewal timer goes to `out`, when the expiry is usable. */
  expiresAt(expiresAtMs: number | null, nowMs: number, out: CallCommand[]): void {
    const delayMs = renewalDelayMs(expiresAtMs, nowMs, this.renewLeadMs);
    if (delayMs === null) return;
    this.expiresAtMs = expiresAtMs;
    out.push({ type: 'timer.set', name: 'sessionRenew', delayMs });
  }

  /** The renewal timer fired: renew now when nothing plays, else look again in a second while time is left. */
  renew(idle: boolean, nowMs: number, out: CallCommand[]): void {
    const left = this.expiresAtMs === null ? 0 : this.expiresAtMs - nowMs;
    if (idle) out.push({ type: 'model.reconnect', reason: 'session renewal before the provider limit' });
    else if (left > 5_000) out.push({ type: 'timer.set', name: 'sessionRenew', delayMs: 1_000 });
  }
}

/** How model errors are logged (PROTOCOLS §6.7): most are recoverable and the session carries on. */
const KNOWN_ERRORS: ReadonlyMap<string, [LogCommand['level'], string]> = new Map([
  // Expected noise: the server's own VAD cancelled the response before our cancel arrived.
  ['response_cancel_not_active', ['debug', 'model: cancel found no active response']],
  [
    'conversation_already_has_active_response',
    ['info', 'model busy; response will be requested when the current one ends'],
  ],
  ['session_expired', ['info', 'model session expired; the link reconnects']],
]);

/** The log line for a model `error` event (the message cut short; known noise at a quieter level). */
export function modelErrorLog(code: string | null, message: string): LogCommand {
  const known = code === null ? undefined : KNOWN_ERRORS.get(code);
  if (known !== undefined) return { type: 'log', level: known[0], msg: known[1] };
  return { type: 'log', level: 'warn', msg: 'model error', fields: { code, message: message.slice(0, 300) } };
}
