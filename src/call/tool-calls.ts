/**
 * The tool calls of each model response (SPEC §9): every call is answered, and the model is
 * asked to carry on (`response.create`) once — when the response is done and every call of it
 * has its output. Jobs run concurrently, and nothing here cancels one: a barge-in ends the
 * response, not the work it asked for. Pure bookkeeping: it builds what to send; the session
 * decides and sends.
 */
import type { ModelCommand } from '../protocol/realtime.js';
import type { CallCommand } from './events.js';

/** A running job's wait message: said once, when due and the caller hears nothing else. */
interface Wait {
  message: string;
  afterMs: number;
  dueMs: number;
}

/** What the wait decision needs to know about playback. */
export interface Playback {
  /** assistant audio sent and not yet heard */
  readonly busy: boolean;
  /** ms of that audio still to play */
  pendingMs(): number;
}

interface ResponseCalls {
  /** jobs still running: call id → tool name */
  running: Map<string, string>;
  /** some call of this response wants the model to carry on once all are answered */
  respond: boolean;
  done: boolean;
}

export class ToolCalls {
  private readonly responses = new Map<string, ResponseCalls>();
  /** call id → response id, for running jobs */
  private readonly jobs = new Map<string, string>();
  /** running jobs whose model session is gone (a reconnect restores the conversation as text, without the call) */
  private readonly orphans = new Set<string>();
  /** function call item → tool name (beta's `arguments.done` has no name) */
  private readonly names = new Map<string, string>();
  /** running jobs whose wait message is still to be said, by call id */
  private readonly waits = new Map<string, Wait>();
  /** MCP calls the provider runs itself (`mcp_call` items): item id → when it started */
  private readonly providerCalls = new Map<string, number>();

  /** The provider announced or started an `mcp_call` item (the first of the two counts). */
  providerCallStarted(itemId: string, nowMs: number): void {
    if (!this.providerCalls.has(itemId)) this.providerCalls.set(itemId, nowMs);
  }

  /**
   * The provider's `mcp_call` item of `responseId` is final: when it started (now when it was
   * never announced). A call that ran asks the model to carry on once the response is done:
   * the provider does not speak an MCP result by itself (PROTOCOLS.md §10.3).
   */
  providerCallDone(responseId: string, itemId: string, ran: boolean, nowMs: number): number {
    const startedMs = this.providerCalls.get(itemId) ?? nowMs;
    this.providerCalls.delete(itemId);
    if (ran) this.calls(responseId).respond = true;
    return startedMs;
  }

  /** Some tool job is still running. */
  get busy(): boolean {
    return this.jobs.size > 0;
  }

  /** The model announced a function call item and its tool's name. */
  named(itemId: string, name: string): void {
    this.names.set(itemId, name);
  }

  /** The tool name announced for a function call item, if any. */
  nameOf(itemId: string): string | null {
    return this.names.get(itemId) ?? null;
  }

  /** A call of `responseId` is answered at once: the `function_call_output` to send. */
  answer(responseId: string, callId: string, output: string, respond: boolean): ModelCommand {
    if (respond) this.calls(responseId).respond = true;
    return outputItem(callId, output);
  }

  /** A call of `responseId` starts a job: the command that runs it, and the wait message's timer if it has one. */
  start(
    responseId: string,
    callId: string,
    name: string,
    job: { run: () => Promise<string>; wait?: { message: string; afterMs: number } },
    nowMs: number,
  ): CallCommand[] {
    const calls = this.calls(responseId);
    calls.running.set(callId, name);
    calls.respond = true;
    this.jobs.set(callId, responseId);
    const out: CallCommand[] = [{ type: 'tool.run', callId, name, run: job.run }];
    if (job.wait !== undefined) {
      this.waits.set(callId, { ...job.wait, dueMs: nowMs + job.wait.afterMs });
      this.armWait(nowMs, out);
    }
    return out;
  }

  /**
   * The wait timer fired (SPEC §9 "no dead air"): when a running job's wait is due and the
   * caller hears nothing (no response in progress, no audio unplayed), the model is asked to
   * say it (a `response.create` with instructions in `out`; with the model socket down the
   * link drops it, and the job's output still follows). While the caller is hearing the
   * assistant, each due wait moves to `wait_after_ms` after that audio ends. Waits due
   * together are said once.
   */
  waitDue(nowMs: number, activeResponse: string | null, playback: Playback, out: CallCommand[]): void {
    const due = [...this.waits.entries()].filter(([, w]) => w.dueMs <= nowMs);
    if (due.length > 0 && activeResponse === null && !playback.busy) {
      out.push({ type: 'model.createResponse', instructions: waitInstructions(due[0]![1].message) });
      for (const [callId] of due) this.waits.delete(callId);
    } else {
      for (const [, w] of due) w.dueMs = nowMs + playback.pendingMs() + w.afterMs;
    }
    this.armWait(nowMs, out);
  }

  private armWait(nowMs: number, out: CallCommand[]): void {
    if (this.waits.size === 0) return;
    const next = Math.min(...[...this.waits.values()].map((w) => w.dueMs));
    out.push({ type: 'timer.set', name: 'toolWait', delayMs: Math.max(0, next - nowMs) });
  }

  /** The response is over (done, cancelled, or gone with its socket): true when the model should carry on now. */
  responseDone(responseId: string): boolean {
    const calls = this.responses.get(responseId);
    if (calls === undefined) return false;
    calls.done = true;
    return this.settle(responseId, calls);
  }

  /**
   * A job's output arrived: what to send — the call's output, or the output as text when the
   * call's model session is gone — and whether to ask the model to carry on now. Null when
   * the call is not a running job (a stray or repeated result).
   */
  jobDone(callId: string, output: string): { send: ModelCommand; respond: boolean } | null {
    const responseId = this.jobs.get(callId);
    const calls = responseId === undefined ? undefined : this.responses.get(responseId);
    const name = calls?.running.get(callId);
    if (responseId === undefined || calls === undefined || name === undefined) return null;
    this.jobs.delete(callId);
    this.waits.delete(callId);
    calls.running.delete(callId);
    const text = `Result of the ${name} tool call you made before the connection was restored: ${output}`;
    const send: ModelCommand = this.orphans.delete(callId)
      ? { type: 'model.createItem', item: { kind: 'message', role: 'system', text } }
      : outputItem(callId, output);
    return { send, respond: this.settle(responseId, calls) };
  }

  /** The model session was replaced: the calls still running now belong to one that is gone. */
  sessionLost(): void {
    for (const callId of this.jobs.keys()) this.orphans.add(callId);
  }

  private calls(responseId: string): ResponseCalls {
    let calls = this.responses.get(responseId);
    if (calls === undefined) {
      calls = { running: new Map(), respond: false, done: false };
      this.responses.set(responseId, calls);
    }
    return calls;
  }

  private settle(responseId: string, calls: ResponseCalls): boolean {
    if (!calls.done || calls.running.size > 0) return false;
    this.responses.delete(responseId);
    return calls.respond;
  }
}

/** The `response.create` instructions that have the model say a wait message. */
export function waitInstructions(message: string): string {
  return (
    'A tool you called is still working. Tell the caller, saying exactly the following, then stop and wait: ' +
    `"${message}"`
  );
}

/** The `function_call_output` item for a call. */
export function outputItem(callId: string, output: string): ModelCommand {
  return { type: 'model.createItem', item: { kind: 'function_call_output', callId, output } };
}
