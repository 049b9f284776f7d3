/**
 * MCP servers through the bridge (SPEC §9 `via: bridge`, PROTOCOLS.md §10.4): the bridge is
 * the MCP client (`@modelcontextprotocol/sdk`, Streamable HTTP). A call's tools are listed
 * when it starts — from a listing at most {@link MCP_LIST_TTL_MS} old, shared by the calls of
 * every profile that names the same server — and offered to the model as functions; a call
 * of one is a job, like an HTTP tool's request.
 *
 * - A server that cannot be reached or listed adds no tools (a warning is logged); the call
 *   goes on with the others.
 * - Server tool names that are not valid function names (dots, more than 64 characters) are
 *   mapped to valid ones; the call goes to the server under its own name.
 * - Whatever goes wrong in a call, the model gets `{"ok":false,"error":"<short reason>"}`; a
 *   result the server marks `isError` is such an error too, with the server's text.
 *
 * The SDK is loaded on the first connection, not at start-up: it is a quarter of a second of
 * module loading that a bridge with no MCP server never needs.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

import { TOOL_NAME } from '../../config/custom-tools.js';
import type { McpServer } from '../../config/mcp-servers.js';
import type { Clock } from '../../util/clock.js';
import { capOutput } from './http-tool.js';
import { toolError, type ToolEntry } from './tool.js';

/** How long a server's tool listing is reused. */
export const MCP_LIST_TTL_MS = 60_000;
/** Connecting and listing give up after this long (a call's `timeout_ms` bounds only its own call). */
const LIST_TIMEOUT_MS = 5_000;

/** One tool as the server lists it. */
export interface ListedTool {
  name: string;
  description?: string | undefined;
  inputSchema: Record<string, unknown>;
}

interface Connection {
  client: Client;
  tools: ListedTool[];
  listedAtMs: number;
}

export interface McpCatalogDeps {
  clock: Clock;
  /** the bridge's version, as the MCP client tells servers */
  version: string;
  /** a server that could not be listed or called (the reason is short and holds no secret) */
  onWarning: (label: string, reason: string) => void;
}

/** Connections to MCP servers and their tool listings, shared by every call. */
export class McpCatalog {
  /** by server URL and headers: one connection per distinct server */
  private readonly connections = new Map<string, Promise<Connection | null>>();

  constructor(private readonly deps: McpCatalogDeps) {}

  /** Each server's tools (an empty list for one that is down), listing again when the listing is stale. */
  async list(servers: readonly McpServer[]): Promise<{ server: McpServer; tools: ListedTool[] }[]> {
    return Promise.all(
      servers.map(async (server) => {
        const conn = await this.connection(server);
        const allowed = server.allowedTools;
        const tools = (conn?.tools ?? []).filter((t) => allowed === null || allowed.includes(t.name));
        return { server, tools };
      }),
    );
  }

  /** Calls `name` on `server`: the output for the model. */
  async call(server: McpServer, name: string, args: Record<string, unknown>): Promise<string> {
    const conn = await this.connection(server);
    if (conn === null) return toolError('the MCP server could not be reached');
    try {
      const result = await conn.client.callTool({ name, arguments: args }, undefined, {
        timeout: server.timeoutMs,
        signal: AbortSignal.timeout(server.timeoutMs),
      });
      return resultOutput(result);
    } catch (err) {
      const reason = callFailure(err, server.timeoutMs);
      this.deps.onWarning(server.label, reason);
      // not a JSON-RPC answer: the session may be gone (the server restarted), so the next call connects again
      const code = rpcCode(err);
      if (code === null || code > 0) this.forget(server);
      return toolError(reason);
    }
  }

  /** Closes every connection (shutdown). */
  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map(async (c) => (await c)?.client.close().catch(() => undefined)));
  }

  private key(server: McpServer): string {
    return JSON.stringify([server.url, server.resolvedHeaders()]);
  }

  private forget(server: McpServer): void {
    const key = this.key(server);
    const stale = this.connections.get(key);
    this.connections.delete(key);
    void stale?.then((c) => c?.client.close().catch(() => undefined));
  }

  private async connection(server: McpServer): Promise<Connection | null> {
    const key = this.key(server);
    const now = this.deps.clock.now();
    const cached = this.connections.get(key);
    if (cached !== undefined) {
      const conn = await cached;
      if (conn !== null && now - conn.listedAtMs < MCP_LIST_TTL_MS) return conn;
      if (this.connections.get(key) === cached) this.forget(server);
      else return (await this.connections.get(key)) ?? null;
    }
    const fresh = this.connect(server);
    this.connections.set(key, fresh);
    const conn = await fresh;
    // a server that is down is asked again by the next call, not after the TTL
    if (conn === null && this.connections.get(key) === fresh) this.connections.delete(key);
    return conn;
  }

  private async connect(server: McpServer): Promise<Connection | null> {
    const [{ Client }, { StreamableHTTPClientTransport }] = await Promise.all([
      import('@modelcontextprotocol/sdk/client/index.js'),
      import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
    ]);
    const client = new Client({ name: 'voice-bridge', version: this.deps.version });
    const transport = new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: server.resolvedHeaders(), redirect: 'manual' },
    });
    try {
      const opts = { timeout: LIST_TIMEOUT_MS, signal: AbortSignal.timeout(LIST_TIMEOUT_MS) };
      await client.connect(transport, opts);
      const tools: ListedTool[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor === undefined ? {} : { cursor }, opts);
        tools.push(
          ...page.tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
        );
        cursor = page.nextCursor;
      } while (cursor !== undefined && tools.length < 1_000);
      return { client, tools, listedAtMs: this.deps.clock.now() };
    } catch (err) {
      this.deps.onWarning(server.label, `its tools are left out: ${callFailure(err, LIST_TIMEOUT_MS)}`);
      await client.close().catch(() => undefined);
      return null;
    }
  }
}

/** A valid function name for a server tool's name: itself when valid, else a mapped one unique among `taken`. */
export function functionName(name: string, taken: ReadonlySet<string>): string {
  if (TOOL_NAME.test(name) && !taken.has(name)) return name;
  const base = name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 58) || 'tool';
  if (TOOL_NAME.test(base) && !taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const candidate = `${base}_${i}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** The tool table entries for the listed tools of `via: bridge` servers, their names mapped where needed. */
export function mcpToolEntries(
  listed: readonly { server: McpServer; tools: readonly ListedTool[] }[],
  taken: ReadonlySet<string>,
  catalog: McpCatalog,
): Map<string, ToolEntry> {
  const names = new Set(taken);
  const entries = new Map<string, ToolEntry>();
  for (const { server, tools } of listed) {
    for (const tool of tools) {
      const fn = functionName(tool.name, names);
      names.add(fn);
      const description = tool.description ?? '';
      entries.set(fn, {
        declaration: { name: fn, description, parameters: tool.inputSchema },
        plan: (args) => {
          if (args === null)
            return { kind: 'output', output: toolError('arguments are not a JSON object'), respond: true };
          return { kind: 'job', run: () => catalog.call(server, tool.name, args) };
        },
      });
    }
  }
  return entries;
}

/** An MCP `tools/call` result as the model's output. */
function resultOutput(result: Record<string, unknown>): string {
  const content = Array.isArray(result['content']) ? (result['content'] as Record<string, unknown>[]) : [];
  const text = content
    .map((c) => (c['type'] === 'text' && typeof c['text'] === 'string' ? c['text'] : `[${String(c['type'])}]`))
    .join('\n');
  if (result['isError'] === true) return toolError(text.slice(0, 500) || 'the MCP tool failed');
  const structured = result['structuredContent'];
  return capOutput(structured !== undefined && structured !== null ? JSON.stringify(structured) : text);
}

/** JSON-RPC error codes the SDK raises (PROTOCOLS.md §10.4). */
const REQUEST_TIMEOUT = -32001;
const INVALID_PARAMS = -32602;

function rpcCode(err: unknown): number | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : null;
}

function callFailure(err: unknown, timeoutMs: number): string {
  const code = rpcCode(err);
  const name = err instanceof Error ? err.name : '';
  if (code === REQUEST_TIMEOUT || name === 'TimeoutError' || name === 'AbortError')
    return `the MCP server did not answer within ${timeoutMs} ms`;
  if (code === INVALID_PARAMS) return 'the MCP server refused the call (unknown tool or invalid arguments)';
  if (code !== null && code < 0) return `the MCP server answered with error ${code}`;
  return 'the MCP server could not be reached';
}
