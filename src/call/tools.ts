/**
 * The built-in tools a profile may give the model (SPEC §6.6): their declarations for
 * `session.update`, and the parsing of a call's arguments. What a tool *does* is decided by
 * `CallSession` (hang-up and transfer wait for the assistant to finish speaking). Pure.
 */
import type { BuiltinTool } from '../config/numbers.js';
import type { ToolDefinition } from '../protocol/realtime.js';

const DECLARATIONS: Record<BuiltinTool, ToolDefinition> = {
  hang_up: {
    name: 'hang_up',
    description:
      'End the phone call. Use it when the caller says goodbye or asks to end the call, after you have said goodbye. ' +
      'The line is closed once your last words have played.',
    parameters: {
      type: 'object',
      properties: { reason: { type: 'string', description: 'Why the call is ending, in a few words.' } },
      required: [],
      additionalProperties: false,
    },
  },
  transfer_call: {
    name: 'transfer_call',
    description:
      'Transfer the caller to a human colleague. Tell the caller you are transferring them before calling this; ' +
      'the transfer happens once your words have played.',
    parameters: {
      type: 'object',
      properties: { reason: { type: 'string', description: 'Why the caller needs a human, in a few words.' } },
      required: [],
      additionalProperties: false,
    },
  },
};

/** Declarations for the tools a profile enables, in a stable order. */
export function toolDefinitions(tools: readonly BuiltinTool[]): ToolDefinition[] {
  return tools.map((t) => DECLARATIONS[t]);
}

export function isBuiltinTool(name: string | null, enabled: readonly BuiltinTool[]): name is BuiltinTool {
  return name !== null && (enabled as readonly string[]).includes(name);
}

/** The `reason` argument when the model gave one; arguments that are not JSON are tolerated. */
export function toolReason(argumentsJson: string): string | null {
  try {
    const parsed: unknown = JSON.parse(argumentsJson);
    if (parsed !== null && typeof parsed === 'object' && typeof (parsed as { reason?: unknown }).reason === 'string') {
      return (parsed as { reason: string }).reason.slice(0, 200);
    }
  } catch {
    // the model sent invalid JSON: the tool still runs, without a reason
  }
  return null;
}
