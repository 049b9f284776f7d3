/**
 * Per-call context (SPEC §10): the profile's `context_url` is asked about the call when the
 * webhook arrives, so its answer is usually in before Twilio opens the media stream; the
 * call start waits for it at most `context_timeout_ms`. The answer's `variables`,
 * `instructions` and `greeting` shape that one call. A slow, failing or nonsensical context
 * service never blocks a call: the profile is used as it is, and the outcome (`ok`, `ms`, a
 * short reason) goes on the call record.
 *
 * Requests are keyed by CallSid and forgotten once their stream starts (or after
 * {@link FORGET_AFTER_MS}, for a webhook whose stream never comes).
 */
import type { Profile } from '../config/numbers.js';
import { SIGNATURE_HEADER, signBody } from '../security/bridge-signature.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { CallInfo } from './tools/tool.js';

/** A context service answer, checked. */
export interface ContextAnswer {
  variables: Record<string, string>;
  instructions: string | null;
  greeting: string | null;
}

/** What the call record says about the context (`context: {ok, ms, error?}`). */
export interface ContextOutcome {
  ok: boolean;
  /** from the request to its answer, or to the moment the call start gave up */
  ms: number;
  /** a short reason when it failed or was too slow (no URL, no secret) */
  error?: string;
}

/** A webhook whose stream never came: its pending request is dropped after this long. */
export const FORGET_AFTER_MS = 60_000;
/** The most of a context answer read. */
const MAX_CONTEXT_BYTES = 64 * 1024;

type Settled = { ok: true; answer: ContextAnswer; atMs: number } | { ok: false; error: string; atMs: number };

interface Pending {
  sentAtMs: number;
  result: Promise<Settled>;
  abort: AbortController;
  forget: TimerHandle;
}

export interface ContextDeps {
  clock: Clock;
  /** BRIDGE_SIGNING_SECRET; null = unsigned */
  signingSecret: string | null;
}

/** `{{name}}` placeholders filled from `vars`; a name with no value becomes empty. */
export function fillPlaceholders(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g, (_, name: string) => vars[name] ?? '');
}

/** The profile one call uses: the context applied, and every placeholder filled. */
export function applyContext(profile: Profile, answer: ContextAnswer | null, vars: Record<string, string>): Profile {
  const extra = answer?.instructions ?? null;
  const instructions = extra === null ? profile.instructions : `${profile.instructions}\n\n${extra}`;
  const greeting = answer?.greeting ?? profile.greeting;
  const fill = (text: string | null) => (text === null ? null : fillPlaceholders(text, vars));
  const outbound = profile.outbound;
  return {
    ...profile,
    instructions: fillPlaceholders(instructions, vars),
    greeting: fill(greeting),
    // an outbound call's own greeting and voicemail message (SPEC §13) take the same variables
    ...(outbound !== undefined
      ? {
          outbound: {
            ...outbound,
            greeting: fill(answer?.greeting ?? outbound.greeting),
            voicemailMessage: fill(outbound.voicemailMessage),
          },
        }
      : {}),
  };
}

/** Checks a context answer: an object whose known fields have the right types. */
export function parseContextAnswer(text: string): ContextAnswer | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'the context service answered with invalid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'the context service answered with something other than a JSON object';
  const o = value as Record<string, unknown>;
  const variables: Record<string, string> = {};
  if (o['variables'] !== undefined) {
    const v = o['variables'];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'variables is not an object';
    for (const [name, val] of Object.entries(v)) {
      if (typeof val === 'string') variables[name] = val;
      else if (typeof val === 'number' || typeof val === 'boolean') variables[name] = String(val);
    }
  }
  for (const field of ['instructions', 'greeting'] as const)
    if (o[field] !== undefined && o[field] !== null && typeof o[field] !== 'string') return `${field} is not a string`;
  const str = (x: unknown): string | null => (typeof x === 'string' && x !== '' ? x : null);
  return { variables, instructions: str(o['instructions']), greeting: str(o['greeting']) };
}

export class ContextRequests {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly deps: ContextDeps) {}

  /** Asks the context service about a call (at the webhook). A second ask for the same CallSid is ignored. */
  begin(url: string, call: Omit<CallInfo, 'variables'>): void {
    if (this.pending.has(call.callSid)) return;
    const { clock, signingSecret } = this.deps;
    const { callSid, from, to, profile, direction } = call;
    const body = JSON.stringify({ call: { callSid, from, to, profile, direction } });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (signingSecret !== null) headers[SIGNATURE_HEADER] = signBody(signingSecret, body, clock.now());
    const abort = new AbortController();
    const result = fetchContext(url, body, headers, abort.signal).then((r): Settled =>
      typeof r === 'string' ? { ok: false, error: r, atMs: clock.now() } : { ok: true, answer: r, atMs: clock.now() },
    );
    const forget = clock.setTimer(FORGET_AFTER_MS, () => this.drop(callSid));
    this.pending.set(callSid, { sentAtMs: clock.now(), result, abort, forget });
  }

  /**
   * The answer for a call whose stream started, waiting at most `timeoutMs`; null when no
   * request was made for it. Too slow → the request is abandoned and the outcome says so.
   */
  async await(
    callSid: string,
    timeoutMs: number,
  ): Promise<{ answer: ContextAnswer | null; outcome: ContextOutcome } | null> {
    const p = this.pending.get(callSid);
    if (p === undefined) return null;
    const { clock } = this.deps;
    let timer: TimerHandle | null = null;
    const late = new Promise<null>((resolve) => (timer = clock.setTimer(timeoutMs, () => resolve(null))));
    const settled = await Promise.race([p.result, late]);
    if (timer !== null) clock.clearTimer(timer);
    this.drop(callSid);
    if (settled === null) {
      return {
        answer: null,
        outcome: { ok: false, ms: clock.now() - p.sentAtMs, error: `no answer within ${timeoutMs} ms` },
      };
    }
    const ms = settled.atMs - p.sentAtMs;
    return settled.ok
      ? { answer: settled.answer, outcome: { ok: true, ms } }
      : { answer: null, outcome: { ok: false, ms, error: settled.error } };
  }

  private drop(callSid: string): void {
    const p = this.pending.get(callSid);
    if (p === undefined) return;
    this.pending.delete(callSid);
    this.deps.clock.clearTimer(p.forget);
    p.abort.abort();
  }

  /** Abandons every pending request (shutdown). */
  close(): void {
    for (const callSid of [...this.pending.keys()]) this.drop(callSid);
  }
}

/** One POST to the context service: its checked answer, or a short reason. */
async function fetchContext(
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<ContextAnswer | string> {
  try {
    const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal });
    if (res.status < 200 || res.status > 299) {
      await res.body?.cancel().catch(() => undefined);
      return `the context service answered HTTP ${res.status}`;
    }
    const text = await res.text();
    if (Buffer.byteLength(text) > MAX_CONTEXT_BYTES) return 'the context answer is larger than 64 KiB';
    return parseContextAnswer(text);
  } catch {
    return 'the context service could not be reached';
  }
}
