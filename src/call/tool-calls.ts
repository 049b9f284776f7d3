/**
 * The tool calls of each model response (SPEC §9): every call is answered, and the model is
 * asked to carry on (`response.create`) once — when the response is done and every call of it
 * has its output. Jobs run concurrently, and nothing here cancels one: a barge-in ends the
 * response, not the work it asked for. Pure bookkeeping: it builds what to send; the session
 * decides and sends.
 */
import type { ModelCommand } from '../protocol/realtime.js';
import type { ToolCommand } from './events.js';

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

  /** A call of `responseId` starts a job: the command that runs it. */
  start(responseId: string, callId: string, name: string, run: () => Promise<string>): ToolCommand {
    const calls = this.calls(responseId);
    calls.running.set(callId, name);
    calls.respond = true;
    this.jobs.set(callId, responseId);
    return { type: 'tool.run', callId, name, run };
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

/** The `function_call_output` item for a call. */
export function outputItem(callId: string, output: string): ModelCommand {
  return { type: 'model.createItem', item: { kind: 'function_call_output', callId, output } };
}
