/**
 * The write half of a call store, the same for both engines: each write is one named
 * {@link WriteCommand} from the shared `writes` tables (calls, events, outbound requests),
 * handed to the engine's own queue (SQLite: a writer thread; PostgreSQL: batched
 * transactions). Never blocks the caller and never throws.
 */
import type { CallOutcome } from '../call/events.js';
import {
  writes,
  type CallAnalysis,
  type CallStart,
  type ContextRecord,
  type StatusWrite,
  type ToolCallWrite,
  type TurnWrite,
  type WriteCommand,
} from './calls-repo.js';
import { eventWrites, type AttemptResult, type NewEvent } from './events-repo.js';
import { outboundWrites } from './outbound-repo.js';

export abstract class QueuedWrites {
  /** Keeps `command` to be written after every write queued before it. */
  protected abstract enqueue(command: WriteCommand): void;

  startCall(call: CallStart, event?: NewEvent): void {
    this.enqueue(writes.startCall(call, event));
  }

  addTurn(callSid: string, turn: TurnWrite): void {
    this.enqueue(writes.addTurn(callSid, turn));
  }

  addBargeIn(callSid: string): void {
    this.enqueue(writes.addBargeIn(callSid));
  }

  addLatency(callSid: string, latencyMs: number, afterCallerTurn: boolean): void {
    this.enqueue(writes.addLatency(callSid, latencyMs, afterCallerTurn));
  }

  finishCall(callSid: string, outcome: CallOutcome, detail: string | null, endedAtMs: number, event?: NewEvent): void {
    this.enqueue(writes.finishCall(callSid, outcome, detail, endedAtMs, event));
  }

  storeAnalysis(callSid: string, analysis: CallAnalysis, event: NewEvent | null): void {
    this.enqueue(writes.storeAnalysis(callSid, analysis, event));
  }

  addStatusEvent(callSid: string, event: StatusWrite): void {
    this.enqueue(writes.addStatusEvent(callSid, event));
  }

  addToolCall(callSid: string, call: ToolCallWrite): void {
    this.enqueue(writes.addToolCall(callSid, call));
  }

  setContext(callSid: string, context: ContextRecord): void {
    this.enqueue(writes.setContext(callSid, context));
  }

  rememberOutbound(key: string, callSid: string, atMs: number): void {
    this.enqueue(outboundWrites.rememberRequest(key, callSid, atMs));
  }

  setEventData(id: string, data: Record<string, unknown>): void {
    this.enqueue(eventWrites.data(id, data));
  }

  recordAttempt(id: string, result: AttemptResult): void {
    this.enqueue(eventWrites.attempt(id, result));
  }

  redeliverEvent(id: string, nowMs: number): void {
    this.enqueue(eventWrites.redeliver(id, nowMs));
  }

  resumeEvents(nowMs: number): void {
    this.enqueue(eventWrites.resume(nowMs));
  }
}
