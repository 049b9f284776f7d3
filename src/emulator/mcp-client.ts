/**
 * The emulator's side of `type: "mcp"` tools (PROTOCOLS.md §10.3): like the real API, it is an
 * MCP client itself (`@modelcontextprotocol/sdk`, Streamable HTTP). A session's MCP tools are
 * listed when `session.update` names a server (or changes its URL, headers or filter), and a
 * scripted call of a listed tool is sent to its server.
 *
 * Outputs and errors take the realtime API's shapes: the output is the tool result's text
 * (its content parts joined), an error is `{type, message}` — `tool_execution_error` for a
 * result marked `isError`, `protocol_error` for a JSON-RPC error, `http_error` when the
 * server could not be reached.
 *
 * The SDK is loaded on the first connection: most emulator sessions never list a server.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

import { isWireObject, type WireObject } from '../protocol/wire-object.js';

/** A listing or a call gives up after this long. */
const MCP_TIMEOUT_MS = 10_000;

/** One `type: "mcp"` entry of `session.tools`, as the emulator uses it. */
export interface McpToolConfig {
  serverLabel: string;
  serverUrl: string;
  allowedTools: readonly string[] | null;
  headers: Record<string, string>;
}

/** One tool as a `mcp_list_tools` item carries it. */
export interface ListedMcpTool {
  name: string;
  input_schema: unknown;
  description?: string;
}

/** What a call of a tool gave: the item's `output`, or its `error`. */
export type McpCallResult = { output: string } | { error: WireObject };

/** The `type: "mcp"` entries of a GA `session.tools` array (already validated). */
export function mcpToolConfigs(tools: readonly WireObject[]): McpToolConfig[] {
  return tools
    .filter((t) => t['type'] === 'mcp')
    .map((t) => {
      const allowed = t['allowed_tools'];
      const headers = isWireObject(t['headers']) ? t['headers'] : {};
      const authorization = typeof t['authorization'] === 'string' ? t['authorization'] : null;
      return {
        serverLabel: String(t['server_label']),
        serverUrl: String(t['server_url']),
        allowedTools: Array.isArray(allowed) ? allowed.filter((n): n is string => typeof n === 'string') : null,
        headers: {
          ...Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => typeof e[1] === 'string')),
          ...(authorization !== null ? { Authorization: `Bearer ${authorization}` } : {}),
        },
      };
    });
}

interface Server {
  config: McpToolConfig;
  /** the connection once made (null: it failed) */
  client: Promise<Client | null>;
  /** the tools it listed, filtered by `allowed_tools`; empty until listed */
  tools: ListedMcpTool[];
}

/** The MCP servers of one emulator session. */
export class EmulatorMcp {
  private readonly servers = new Map<string, Server>();

  /**
   * Takes the session's MCP tools: the servers that are new or changed, to list now (their
   * old connections are closed); servers no longer named are dropped.
   */
  configure(configs: readonly McpToolConfig[]): McpToolConfig[] {
    const fresh: McpToolConfig[] = [];
    const named = new Set(configs.map((c) => c.serverLabel));
    for (const [label, server] of this.servers)
      if (!named.has(label)) {
        this.servers.delete(label);
        void closeClient(server.client);
      }
    for (const config of configs) {
      const known = this.servers.get(config.serverLabel);
      if (known !== undefined && JSON.stringify(known.config) === JSON.stringify(config)) continue;
      if (known !== undefined) void closeClient(known.client);
      this.servers.set(config.serverLabel, { config, client: Promise.resolve(null), tools: [] });
      fresh.push(config);
    }
    return fresh;
  }

  /** Connects to the server and lists its tools; the listing is kept for {@link ownerOf} and {@link call}. */
  async list(label: string): Promise<{ tools: ListedMcpTool[] } | { error: string }> {
    const server = this.servers.get(label);
    if (server === undefined) return { error: `no MCP server ${label}` };
    const connecting = connect(server.config);
    server.client = connecting.then((c) => ('client' in c ? c.client : null));
    const result = await connecting;
    if (this.servers.get(label) !== server) return { error: 'the MCP server was replaced' };
    if ('error' in result) return { error: result.error };
    const allowed = server.config.allowedTools;
    server.tools = result.tools.filter((t) => allowed === null || allowed.includes(t.name));
    return { tools: server.tools };
  }

  /** The label of the server that listed a tool named `name`, if any. */
  ownerOf(name: string): string | null {
    for (const [label, server] of this.servers) if (server.tools.some((t) => t.name === name)) return label;
    return null;
  }

  /** Calls `name` on the server labelled `label`. Never throws. */
  async call(label: string, name: string, argumentsJson: string): Promise<McpCallResult> {
    const server = this.servers.get(label);
    const client = server === undefined ? null : await server.client;
    if (client === null) return { error: { type: 'http_error', code: 503, message: 'MCP server not reachable' } };
    let args: unknown;
    try {
      args = JSON.parse(argumentsJson);
    } catch {
      args = null;
    }
    if (!isWireObject(args))
      return { error: { type: 'protocol_error', code: -32602, message: 'arguments are not a JSON object' } };
    try {
      const result = await client.callTool({ name, arguments: args }, undefined, {
        timeout: MCP_TIMEOUT_MS,
        signal: AbortSignal.timeout(MCP_TIMEOUT_MS),
      });
      const content = Array.isArray(result['content']) ? (result['content'] as WireObject[]) : [];
      const text = content
        .map((c) => (c['type'] === 'text' && typeof c['text'] === 'string' ? c['text'] : ''))
        .filter((t) => t !== '')
        .join('\n');
      if (result['isError'] === true) return { error: { type: 'tool_execution_error', message: text } };
      return { output: text };
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      const message = err instanceof Error ? err.message : String(err);
      return typeof code === 'number'
        ? { error: { type: 'protocol_error', code, message } }
        : { error: { type: 'http_error', code: 502, message } };
    }
  }

  /** Closes every connection (the session's socket closed). */
  async close(): Promise<void> {
    const all = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(all.map((s) => closeClient(s.client)));
  }
}

async function connect(config: McpToolConfig): Promise<{ client: Client; tools: ListedMcpTool[] } | { error: string }> {
  const [{ Client }, { StreamableHTTPClientTransport }] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
  ]);
  const client = new Client({ name: 'realtime-emulator', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(config.serverUrl), {
    requestInit: { headers: config.headers },
  });
  try {
    const opts = { timeout: MCP_TIMEOUT_MS, signal: AbortSignal.timeout(MCP_TIMEOUT_MS) };
    await client.connect(transport, opts);
    const tools: ListedMcpTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor }, opts);
      for (const t of page.tools)
        tools.push({
          name: t.name,
          input_schema: t.inputSchema,
          ...(t.description !== undefined ? { description: t.description } : {}),
        });
      cursor = page.nextCursor;
    } while (cursor !== undefined && tools.length < 1_000);
    return { client, tools };
  } catch (err) {
    await client.close().catch(() => undefined);
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

async function closeClient(client: Promise<Client | null>): Promise<void> {
  await (await client)?.close().catch(() => undefined);
}
