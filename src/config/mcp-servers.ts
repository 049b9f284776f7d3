/**
 * MCP servers in a profile (SPEC §9, PROTOCOLS.md §10.3–10.4): the YAML shape and the
 * resolved {@link McpServer} a call uses. `via: bridge` — the bridge is the MCP client and
 * offers the server's tools as functions; `via: model` — the server is passed to the realtime
 * API as a `type: "mcp"` tool (GA dialect only). Header values may hold `${env:NAME}`, read at
 * load like a custom tool's; the resolved values are a private field JSON never sees.
 */
import { z } from 'zod';

import { httpUrl, resolveHeaders, TOOL_NAME } from './custom-tools.js';

export const McpServerSchema = z
  .object({
    label: z.string().regex(TOOL_NAME, { message: 'must be 1 to 64 of A-Z, a-z, 0-9, _ and -' }),
    url: httpUrl,
    via: z.enum(['bridge', 'model'], { message: 'must be bridge or model' }).optional(),
    allowed_tools: z.array(z.string().min(1)).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    timeout_ms: z.number().int().min(1).max(30_000).optional(),
  })
  .strict();

export type McpServerFields = z.infer<typeof McpServerSchema>;

export class McpServer {
  readonly label: string;
  readonly url: string;
  readonly via: 'bridge' | 'model';
  /** null = every tool the server lists */
  readonly allowedTools: readonly string[] | null;
  /** as written in the file */
  readonly headers: Record<string, string>;
  /** a tool call through the bridge gives up after this long */
  readonly timeoutMs: number;
  readonly #headers: Record<string, string>;

  /** @throws MissingEnvVariable */
  constructor(fields: McpServerFields, env: NodeJS.ProcessEnv) {
    this.label = fields.label;
    this.url = fields.url;
    this.via = fields.via ?? 'bridge';
    this.allowedTools = fields.allowed_tools ?? null;
    this.headers = fields.headers ?? {};
    this.timeoutMs = fields.timeout_ms ?? 5_000;
    this.#headers = resolveHeaders(this.headers, env);
  }

  /** Header values with `${env:…}` filled in: for requests to the server (or the provider's `mcp` tool) only. */
  resolvedHeaders(): Record<string, string> {
    return { ...this.#headers };
  }
}
