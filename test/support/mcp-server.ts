/**
 * A real MCP server for tests, built with the SDK (`McpServer` over Streamable HTTP, stateful
 * sessions) on port 0. Each test registers its tools; every `tools/call` is recorded.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll } from 'vitest';
import type { z } from 'zod';

export interface McpTestTool {
  name: string;
  description: string;
  inputSchema: Record<string, z.ZodType>;
  run: (args: Record<string, unknown>) => Promise<CallToolResult> | CallToolResult;
}

export interface McpTestServer {
  url: string;
  /** every tools/call, in order */
  calls: { name: string; arguments: Record<string, unknown> }[];
  /** the headers of every HTTP request */
  headers: IncomingHttpHeaders[];
  /** how many times a client listed the tools */
  listings: () => number;
}

export async function startMcpServer(tools: McpTestTool[]): Promise<McpTestServer> {
  const calls: McpTestServer['calls'] = [];
  const headers: IncomingHttpHeaders[] = [];
  let listings = 0;
  const transports = new Map<string, StreamableHTTPServerTransport>();

  const newServer = (): McpServer => {
    const server = new McpServer({ name: 'test-crm', version: '1.0.0' });
    for (const tool of tools) {
      server.registerTool(tool.name, { description: tool.description, inputSchema: tool.inputSchema }, (args) => {
        calls.push({ name: tool.name, arguments: args });
        return tool.run(args);
      });
    }
    return server;
  };

  const http = createServer((req, res) => {
    headers.push(req.headers);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body: unknown = text === '' ? undefined : JSON.parse(text);
      if ((body as { method?: string } | undefined)?.method === 'tools/list') listings++;
      const sid = req.headers['mcp-session-id'];
      let transport = typeof sid === 'string' ? transports.get(sid) : undefined;
      if (transport === undefined) {
        if (typeof sid === 'string') {
          res.writeHead(404).end();
          return;
        }
        const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          enableJsonResponse: true,
          onsessioninitialized: (id: string): void => {
            transports.set(id, created);
          },
        });
        transport = created;
        void newServer().connect(created);
      }
      void transport.handleRequest(req, res, body);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  afterAll(async () => {
    await Promise.all([...transports.values()].map((t) => t.close()));
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    calls,
    headers,
    listings: () => listings,
  };
}
