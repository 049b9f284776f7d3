/**
 * The console's calls to the bridge's `/api` (SPEC §12). The session cookie authenticates
 * them; every write carries `X-Bridge-Console: 1` (the bridge refuses cookie writes without it).
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function answer<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new ApiError(res.status, body.error ?? `HTTP ${res.status}`);
  return body as T;
}

export async function getJson<T>(url: string): Promise<T> {
  return answer<T>(await fetch(url, { headers: { Accept: 'application/json' } }));
}

export async function sendJson<T>(method: 'POST' | 'PUT', url: string, body: unknown): Promise<T> {
  return answer<T>(
    await fetch(url, {
      method,
      headers: { 'Content-Type': 'application/json', 'X-Bridge-Console': '1' },
      body: JSON.stringify(body),
    }),
  );
}

export interface Turn {
  role: 'caller' | 'assistant';
  text: string;
  at: string;
  truncated: boolean;
}

export interface ToolCall {
  name: string;
  arguments: Record<string, unknown> | null;
  ok: boolean;
  ms: number;
  via: string;
  at: string;
}

export interface CallRecord {
  callSid: string;
  from: string;
  to: string;
  profile: string;
  startedAt: string;
  endedAt: string | null;
  outcome: string;
  reason: string | null;
  durationMs: number | null;
  bargeIns: number;
  latency: { firstAudioMs: number | null; responseMs: number[] };
  turns: Turn[];
  tools: ToolCall[];
  statusEvents: { at: string; kind: string; status: string; detail: string | null }[];
  analysis: { summary: string; data: unknown; valid: boolean } | null;
}

export interface Segment {
  startMs: number;
  endMs: number;
}

export interface Timeline {
  callSid: string;
  durationMs: number;
  caller: Segment[];
  assistant: Segment[];
  bargeIns: { atMs: number }[];
  tools: { atMs: number; name: string; arguments: string }[];
  latencies: { fromMs: number; atMs: number; latencyMs: number; afterCallerTurn: boolean }[];
  waveform: { bucketMs: number; caller: number[]; assistant: number[] };
}
