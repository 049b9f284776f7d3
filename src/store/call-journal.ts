/**
 * Keeps the record of one call: turns the session's `record.*` facts into call-record
 * writes and metrics. It observes and never influences; the store's writes never block or
 * throw (a storage fault is the store's to log and count), so the call goes on.
 */
import type { CallObserver } from '../call/call-runner.js';
import type { CallEvent, RecordCommand } from '../call/events.js';
import type { CallEvents } from '../events/call-events.js';
import type { ToolRecord } from '../call/tools/tool-records.js';
import type { BridgeMetrics } from '../http/metrics.js';
import type { CallWriter } from './call-store.js';
import type { ContextRecord } from './calls-repo.js';

export class CallJournal implements CallObserver {
  private ended = false;
  private speechStartedAt: number | null = null;

  constructor(
    private readonly callSid: string,
    private readonly repo: CallWriter,
    private readonly metrics: BridgeMetrics,
    private readonly monotonicMs: () => number,
    /** the call's events (SPEC §10): `call.ended` is stored with the call's final write */
    private readonly events: CallEvents | null = null,
  ) {}

  onEvent(event: CallEvent): void {
    switch (event.type) {
      case 'model.speechStarted':
        this.speechStartedAt = this.monotonicMs();
        break;
      case 'model.open':
        if (event.reconnect) this.metrics.modelReconnects.inc();
        break;
      default:
    }
  }

  /** Called for every `twilio.clear` sent: the barge-in latency inside the bridge. */
  onClearSent(): void {
    if (this.speechStartedAt !== null) {
      this.metrics.bargeInClear.observe((this.monotonicMs() - this.speechStartedAt) / 1000);
      this.speechStartedAt = null;
    }
  }

  /** A tool call finished (or was answered at once). */
  onTool(record: ToolRecord): void {
    this.repo.addToolCall(this.callSid, record);
  }

  /** What the per-call context service did. */
  onContext(outcome: ContextRecord): void {
    this.repo.setContext(this.callSid, outcome);
  }

  onRecord(record: RecordCommand): void {
    switch (record.type) {
      case 'record.turn':
        this.repo.addTurn(this.callSid, record);
        break;
      case 'record.tool':
        this.repo.addToolCall(this.callSid, record);
        break;
      case 'record.bargeIn':
        this.repo.addBargeIn(this.callSid);
        this.metrics.bargeIns.inc();
        break;
      case 'record.firstAudio':
        this.repo.addLatency(this.callSid, record.latencyMs, record.afterCallerTurn);
        this.metrics.firstAudio.observe(
          { after: record.afterCallerTurn ? 'caller_turn' : 'call_start' },
          record.latencyMs / 1000,
        );
        break;
      case 'record.end':
        if (this.ended) return;
        this.ended = true;
        this.repo.finishCall(
          this.callSid,
          record.outcome,
          record.detail,
          record.atMs,
          this.events?.event('call.ended', null, record.atMs),
        );
        this.metrics.callsTotal.inc({ outcome: record.outcome });
        break;
    }
  }
}
