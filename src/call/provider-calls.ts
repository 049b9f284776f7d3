/**
 * MCP calls the provider runs itself (`via: model` servers, PROTOCOLS §10.3): the model's
 * `mcp_call` items and `mcp_*` progress events, turned into the call's log lines and
 * `record.tool` entries. The timing lives in `tool-calls.ts`; whether the model carries on is
 * the session's to decide. Pure.
 */
import type { ItemSummary, ModelEvent } from '../protocol/realtime.js';
import { log, type CallCommand } from './events.js';
import type { ToolCalls } from './tool-calls.js';
import { parseArguments } from './tools/registry.js';

/**
 * A provider's `mcp_call` item is final: its start time is settled in `toolCalls` and the call
 * goes on the log and the record.
 */
export function providerCallDone(
  toolCalls: ToolCalls,
  responseId: string,
  item: ItemSummary,
  nowMs: number,
  out: CallCommand[],
): void {
  // the item has no status: a call that ran has an output or an error (a cancelled one neither)
  const output = item.mcp?.output ?? null;
  const error = item.mcp?.error ?? null;
  const ran = output !== null || error !== null;
  const atMs = toolCalls.providerCallDone(responseId, item.id, ran, nowMs);
  const ok = output !== null && error === null;
  const name = item.name ?? 'unknown';
  log(out, ok ? 'info' : 'warn', 'provider called an MCP tool', {
    tool: name,
    server: item.mcp?.serverLabel ?? null,
    error: error === null ? (ran ? null : 'did not run') : error.slice(0, 200),
  });
  out.push({
    type: 'record.tool',
    name,
    arguments: parseArguments(item.arguments ?? ''),
    ok,
    ms: nowMs - atMs,
    atMs,
    via: 'model',
  });
}

/** The provider's MCP progress: a call's start is timed; a server it could not list is worth a warning. */
export function providerMcpEvent(
  toolCalls: ToolCalls,
  e: Extract<ModelEvent, { type: 'model.mcp' }>,
  nowMs: number,
  out: CallCommand[],
): void {
  if (e.phase === 'mcp_call.in_progress') toolCalls.providerCallStarted(e.itemId, nowMs);
  if (e.phase === 'mcp_list_tools.failed')
    log(out, 'warn', "the provider could not list an MCP server's tools; its tools are absent", { itemId: e.itemId });
}
