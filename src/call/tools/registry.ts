/**
 * The tool table (SPEC §6.6): every built-in tool is one entry here, its file beside this
 * one. A new built-in tool is one new file and one line below (plus its name in
 * `BUILTIN_TOOLS`, which profiles are validated against).
 */
import type { McpServer } from '../../config/mcp-servers.js';
import type { BuiltinTool, Profile } from '../../config/numbers.js';
import type { ToolDefinition } from '../../protocol/realtime.js';
import { isWireObject } from '../../protocol/wire-object.js';
import type { LogCommand } from '../events.js';
import { hangUp } from './hang-up.js';
import { httpTool, type HttpToolDeps } from './http-tool.js';
import { mcpToolEntries, type McpCatalog, type ListedTool } from './mcp-tools.js';
import { sendDtmf } from './send-dtmf.js';
import { toolError, type ToolContext, type ToolEntry, type ToolPlan, type ToolTable } from './tool.js';
import { transferCall } from './transfer-call.js';

/** What the profile's `via: bridge` MCP servers listed for a call, and the catalog that calls them. */
export interface McpListing {
  listed: readonly { server: McpServer; tools: readonly ListedTool[] }[];
  catalog: McpCatalog;
}

const BUILTIN: Readonly<Record<BuiltinTool, ToolEntry>> = {
  hang_up: hangUp,
  transfer_call: transferCall,
  send_dtmf: sendDtmf,
};

/** The built-in tools a profile enables, in the profile's order. */
export function builtinTools(enabled: readonly BuiltinTool[]): ToolTable {
  return new Map(enabled.map((name) => [name, BUILTIN[name]]));
}

/**
 * Every tool a call of `profile` offers: its built-in tools, its custom HTTP tools, then the
 * tools its `via: bridge` MCP servers listed (SPEC §9).
 */
export function callTools(profile: Profile, http: HttpToolDeps, mcp?: McpListing): ToolTable {
  const table = new Map(builtinTools(profile.tools));
  for (const tool of profile.customTools ?? []) table.set(tool.name, httpTool(tool, http));
  if (mcp !== undefined)
    for (const [name, entry] of mcpToolEntries(mcp.listed, new Set(table.keys()), mcp.catalog)) table.set(name, entry);
  return table;
}

/** The declarations for `session.update`, in the table's order. */
export function toolDeclarations(table: ToolTable): ToolDefinition[] {
  return [...table.values()].map((t) => t.declaration);
}

/**
 * What a call the model made means. A name the table does not hold (the model invented it,
 * or the profile does not enable it) is answered with an error and never reaches another
 * tool; arguments that are not a JSON object reach the tool as null.
 */
export function planToolCall(table: ToolTable, name: string | null, argumentsJson: string, ctx: ToolContext): ToolPlan {
  const entry = name === null ? undefined : table.get(name);
  if (entry === undefined) return { kind: 'output', output: toolError(`unknown tool ${String(name)}`), respond: true };
  return entry.plan(parseArguments(argumentsJson), ctx);
}

/** The log line for a tool call: what the tool's plan is, or a warning for a name the table lacks. */
export function toolCallLog(table: ToolTable, name: string | null, plan: ToolPlan): LogCommand {
  if (name === null || !table.has(name))
    return { type: 'log', level: 'warn', msg: 'model called an unknown tool', fields: { name } };
  const reason = 'detail' in plan ? plan.detail : null;
  return { type: 'log', level: 'info', msg: 'tool called', fields: { tool: name, plan: plan.kind, reason } };
}

/** A call's arguments JSON as an object; null when it is not a JSON object. */
export function parseArguments(json: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(json);
    return isWireObject(value) ? value : null;
  } catch {
    return null;
  }
}
