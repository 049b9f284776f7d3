/**
 * What the bridge needs from a call store (SPEC §3, §8), whatever the engine.
 *
 * Writes are fire-and-forget: a call never waits for its record, and a store fault can never
 * reach it (SPEC §8: logged, counted, retried or dropped for that record). The store keeps
 * the writes of a call in the order they were made. Reads are asynchronous and may refuse
 * with {@link StoreUnavailableError} (the admin API's 503). SQLite implements it today
 * (`sqlite-call-store.ts`); an asynchronous engine such as PostgreSQL fits the same shape.
 */
import type { CallOutcome } from '../call/events.js';
import { BridgeError } from '../util/errors.js';
import type {
  CallAnalysis,
  CallRecord,
  CallStart,
  ContextRecord,
  ListQuery,
  StatusWrite,
  ToolCallWrite,
  TurnWrite,
} from './calls-repo.js';
import type { AttemptResult, DueEvent, EventQuery, EventSummary, NewEvent } from './events-repo.js';

/** The writes a call makes while it runs; none blocks and none throws. */
export interface CallWriter {
  /** `event` (its `call.started`) is stored in the same transaction as the call's row */
  startCall(call: CallStart, event?: NewEvent): void;
  addTurn(callSid: string, turn: TurnWrite): void;
  addBargeIn(callSid: string): void;
  /** A latency figure: the first one of the call (greeting), or a response to a caller turn. */
  addLatency(callSid: string, latencyMs: number, afterCallerTurn: boolean): void;
  /**
   * Finalises a call; a call already finalised keeps its first outcome. `event` (its
   * `call.ended`) is stored in the same transaction; one per call.
   */
  finishCall(callSid: string, outcome: CallOutcome, detail: string | null, endedAtMs: number, event?: NewEvent): void;
  /** The post-call analysis, with its `call.analyzed` event in the same transaction. */
  storeAnalysis(callSid: string, analysis: CallAnalysis, event: NewEvent | null): void;
  addStatusEvent(callSid: string, event: StatusWrite): void;
  addToolCall(callSid: string, call: ToolCallWrite): void;
  /** What the per-call context service did (SPEC §10). */
  setContext(callSid: string, context: ContextRecord): void;
  /** An outbound call's Idempotency-Key (SPEC §13): the same key finds this call again, after a restart too */
  rememberOutbound(key: string, callSid: string, atMs: number): void;
}

/**
 * The event outbox (SPEC §10): what the delivery worker and the admin API need. Reads may
 * refuse with {@link StoreUnavailableError}; writes never block and never throw.
 */
export interface EventOutbox {
  /** Up to `limit` events due at `nowMs`: at most one per call, its oldest pending one. */
  dueEvents(nowMs: number, limit: number): Promise<DueEvent[]>;
  /** When the next pending event falls due (epoch ms); null when none is pending. */
  nextEventDueMs(): Promise<number | null>;
  pendingEvents(): Promise<number>;
  /** Newest first. @throws StoreUnavailableError */
  listEvents(query: EventQuery): Promise<{ events: EventSummary[]; next: string | null }>;
  getEvent(id: string): Promise<EventSummary | null>;
  /** Keeps the data built for an event stored without it (`call.ended`), so every attempt sends the same body. */
  setEventData(id: string, data: Record<string, unknown>): void;
  recordAttempt(id: string, result: AttemptResult): void;
  /** Makes an event pending again, due at `nowMs`, with a fresh 24 h horizon. */
  redeliverEvent(id: string, nowMs: number): void;
  /** At start-up: every pending event falls due now. */
  resumeEvents(nowMs: number): void;
}

export interface CallStore extends CallWriter, EventOutbox {
  /** Every write made before the call. @throws StoreUnavailableError */
  getCall(callSid: string): Promise<CallRecord | null>;
  /** The call an outbound request with this Idempotency-Key created, or null. */
  outboundCallForKey(key: string): Promise<string | null>;
  /** Newest first; `next` is the cursor of the following page or null. @throws StoreUnavailableError */
  listCalls(query: ListQuery): Promise<{ calls: CallRecord[]; next: string | null }>;
  /** Resolves true once every write made so far is done, false if `timeoutMs` passes first. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Writes what it can within `timeoutMs`, says what it could not, and releases the engine. */
  close(timeoutMs?: number): Promise<void>;
}

/** The store cannot answer now (locked by another process, failing disk); retrying later may work. */
export class StoreUnavailableError extends BridgeError {
  constructor(message: string, options?: ErrorOptions) {
    super('BRIDGE_ERR_STORE', message, options);
  }
}

/** What a store reports, for metrics; `op` names the write (`insertCall`, `insertTurn`, …). */
export interface StoreMonitor {
  /** a write failed (counted once per write, however often it is retried) */
  onError(op: string): void;
  /** a write was given up: the queue was full, or the engine refused it for good */
  onDropped(op: string): void;
  /** writes waiting to be written */
  onQueued(writes: number): void;
}
