/**
 * A custom HTTP tool (SPEC §9): the model's call becomes one signed request to the tool's
 * backend, run as a job outside the session, and the answer becomes the call's output.
 *
 * - Arguments are checked against the tool's `parameters` first: invalid ones never reach
 *   the backend; the model gets a short reason and can try again.
 * - The platform `fetch` with `AbortSignal.timeout` covers connecting, the headers and the body.
 *   Requests started together are set up one per event-loop turn (`util/loop-turns.ts`).
 * - Redirects are not followed (`redirect: 'manual'`): a backend that moved is a
 *   configuration error to fix, and following one would send the signed body and the
 *   configured headers to a host nobody configured.
 * - Whatever goes wrong, the model gets `{"ok":false,"error":"<short reason>"}`: no URL, no
 *   header, no stack — a secret cannot reach the model or the caller through it.
 */
import type { CustomTool } from '../../config/custom-tools.js';
import { SIGNATURE_HEADER, signBody } from '../../security/bridge-signature.js';
import { loopTurn } from '../../util/loop-turns.js';
import { fillPlaceholders } from '../call-context.js';
import { toolError, type CallInfo, type ToolEntry } from './tool.js';

/** The most of an answer the model gets (a longer one is cut, and the output says so). */
export const MAX_TOOL_OUTPUT_BYTES = 16 * 1024;
export const CUT_NOTE = '\n[cut: the answer was longer than 16 KiB]';

export interface HttpToolDeps {
  /** BRIDGE_SIGNING_SECRET; null = requests go unsigned */
  signingSecret: string | null;
  /** wall-clock ms, for the signature's timestamp */
  now: () => number;
  /** a failed request, for the log (the reason is short and holds no secret) */
  onFailure?: (tool: string, reason: string) => void;
}

/** The `call` object of the request body. */
function callOf(call: CallInfo | undefined): Record<string, unknown> {
  if (call === undefined) return {};
  const { callSid, from, to, profile, direction, variables } = call;
  return { callSid, from, to, profile, direction, variables: { ...variables } };
}

/** GET: the arguments as a query string, strings as they are and anything else as JSON. */
function withQuery(url: string, args: Record<string, unknown>): string {
  const u = new URL(url);
  for (const [key, value] of Object.entries(args))
    u.searchParams.append(key, typeof value === 'string' ? value : JSON.stringify(value));
  return u.toString();
}

/** Up to `limit` bytes of the body; `cut` when there was more (leaving the loop cancels the rest). */
async function readCapped(res: Response, limit: number): Promise<{ bytes: Buffer; cut: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (res.body === null) return { bytes: Buffer.alloc(0), cut: false };
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    chunks.push(Buffer.from(chunk));
    size += chunk.byteLength;
    if (size > limit) return { bytes: Buffer.concat(chunks), cut: true };
  }
  return { bytes: Buffer.concat(chunks), cut: false };
}

/** The output for a 2xx answer: compact JSON, or the text; over 16 KiB cut, saying so. */
function outputOf(bytes: Buffer, cut: boolean, contentType: string): string {
  let text = bytes.toString('utf8');
  if (!cut && /\bjson\b/i.test(contentType)) {
    try {
      text = JSON.stringify(JSON.parse(text));
    } catch {
      // a body that says JSON but is not: the model gets the text as it came
    }
  }
  return capOutput(text, cut);
}

/** An output as the model gets it: over 16 KiB (or `cut` already) it is cut, and says so. */
export function capOutput(text: string, cut = false): string {
  if (!cut && Buffer.byteLength(text) <= MAX_TOOL_OUTPUT_BYTES) return text;
  const head = Buffer.from(text).subarray(0, MAX_TOOL_OUTPUT_BYTES - Buffer.byteLength(CUT_NOTE));
  return `${head.toString('utf8').replace(/\uFFFD+$/, '')}${CUT_NOTE}`;
}

function failureReason(err: unknown, timeoutMs: number): string {
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') return `the tool did not answer within ${timeoutMs} ms`;
  return 'the tool could not be reached';
}

/** The tool table entry for one custom tool. */
export function httpTool(tool: CustomTool, deps: HttpToolDeps): ToolEntry {
  const { name, http } = tool;
  const fail = (reason: string): string => {
    deps.onFailure?.(name, reason);
    return toolError(reason);
  };
  return {
    declaration: { name, description: tool.description, parameters: tool.parameters },
    plan: (args, ctx) => {
      const invalid = args === null ? 'arguments are not a JSON object' : tool.checkArguments(args);
      if (invalid !== null || args === null)
        return { kind: 'output', output: toolError(invalid ?? 'invalid arguments'), respond: true };
      const toolCallId = ctx.toolCallId ?? '';
      const body = JSON.stringify({ tool: name, tool_call_id: toolCallId, arguments: args, call: callOf(ctx.call) });
      const url = http.method === 'GET' ? withQuery(http.url, args) : http.url;
      const headers = new Headers(tool.resolvedHeaders());
      headers.set('content-type', 'application/json');
      headers.set('idempotency-key', toolCallId);
      // GET has no body: its signature covers the path and query, which carry the arguments.
      const signed = http.method === 'GET' ? new URL(url).pathname + new URL(url).search : body;
      if (deps.signingSecret !== null) headers.set(SIGNATURE_HEADER, signBody(deps.signingSecret, signed, deps.now()));
      const run = async (): Promise<string> => {
        // many tools started together: one request set up per loop turn (frames of other calls run between)
        const turn = loopTurn();
        if (turn !== null) await turn;
        let res: Response;
        const signal = AbortSignal.timeout(http.timeoutMs);
        try {
          res = await fetch(url, {
            method: http.method,
            headers,
            redirect: 'manual',
            signal,
            ...(http.method === 'POST' ? { body } : {}),
          });
        } catch (err) {
          return fail(failureReason(err, http.timeoutMs));
        }
        if (res.type === 'opaqueredirect' || (res.status >= 300 && res.status < 400)) {
          await res.body?.cancel().catch(() => undefined);
          return fail(`the tool answered with a redirect (HTTP ${res.status}), which is not followed`);
        }
        if (res.status < 200 || res.status > 299) {
          await res.body?.cancel().catch(() => undefined);
          return fail(`the tool answered HTTP ${res.status}`);
        }
        try {
          const { bytes, cut } = await readCapped(res, MAX_TOOL_OUTPUT_BYTES);
          return outputOf(bytes, cut, res.headers.get('content-type') ?? '');
        } catch (err) {
          return fail(failureReason(err, http.timeoutMs));
        }
      };
      return { kind: 'job', run, ...(tool.waitMessage !== null ? { wait: wait(tool, ctx.call) } : {}) };
    },
  };
}

/** The wait message, its `{{name}}` placeholders filled from the call's variables (SPEC §10). */
function wait(tool: CustomTool, call: CallInfo | undefined): { message: string; afterMs: number } {
  return { message: fillPlaceholders(tool.waitMessage ?? '', call?.variables ?? {}), afterMs: tool.waitAfterMs };
}
