/**
 * Post-call analysis (SPEC §10): when the call is over, before the model socket closes, one
 * out-of-band text response (`conversation: "none"`, PROTOCOLS.md §10.2) on the same session
 * asks for `{"summary": "…", "data": {…}}`; `data` is checked against the profile's schema.
 * At most {@link ANALYSIS_TIMEOUT_MS}; the socket is closed right after, answer or not.
 *
 * It wraps the call's model link: the session's `model.close` starts the analysis instead of
 * closing at once, and the link's events after the call reach it here (the runner has stopped
 * listening). The session itself knows nothing of it.
 */
import type { AnalysisSettings } from '../config/event-settings.js';
import type { ModelEvent, ModelLinkEvent } from '../protocol/realtime.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { ModelLink } from './call-runner.js';

export const ANALYSIS_TIMEOUT_MS = 15_000;

/** Marks our response in `metadata` (echoed in `response.created`/`.done`). */
export const ANALYSIS_METADATA = { purpose: 'analysis' } as const;

/** What the analysis found; `valid`: `data` matches the profile's schema. */
export interface AnalysisResult {
  summary: string;
  data: unknown;
  valid: boolean;
}

/** How it ended: an answer (parsed, valid or not), or none (`reason`). */
export type AnalysisOutcome = { ok: true; result: AnalysisResult } | { ok: false; reason: string };

/** The instructions of the analysis response: the profile's, then the answer's shape and schema. */
export function analysisInstructions(settings: AnalysisSettings): string {
  return (
    `${settings.instructions}\n\n` +
    'The call is over. Answer with one JSON object and nothing else: ' +
    '{"summary": "<a short summary of the call>", "data": <a value matching the JSON Schema below>}.\n' +
    `JSON Schema: ${JSON.stringify(settings.schema)}`
  );
}

/** The model's text as an analysis; `data` null and invalid when it is not the JSON asked for. */
export function parseAnalysis(text: string, settings: AnalysisSettings): AnalysisResult {
  let parsed: unknown = null;
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start >= 0 && end > start) {
    try {
      parsed = JSON.parse(text.slice(start, end + 1));
    } catch {
      parsed = null;
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { summary: text.trim().slice(0, 2_000), data: null, valid: false };
  }
  const answer = parsed as { summary?: unknown; data?: unknown };
  const data = answer.data ?? null;
  return {
    summary: typeof answer.summary === 'string' ? answer.summary.slice(0, 2_000) : '',
    data,
    valid: settings.accepts(data),
  };
}

export class CallAnalysis {
  private timer: TimerHandle | null = null;
  private state: 'idle' | 'asking' | 'done' = 'idle';
  /** our response's id, from the `response.created` that carried our metadata (or the first one after asking) */
  private responseId: string | null = null;
  private link: ModelLink | null = null;

  constructor(
    private readonly settings: AnalysisSettings,
    private readonly clock: Clock,
    private readonly onDone: (outcome: AnalysisOutcome) => void,
    private readonly timeoutMs = ANALYSIS_TIMEOUT_MS,
  ) {}

  /** The call's link, with `close()` running the analysis first. */
  wrap(link: ModelLink): ModelLink {
    return {
      connect: () => link.connect(),
      send: (cmd) => link.send(cmd),
      reconnect: (reason) => link.reconnect(reason),
      close: () => this.ask(link),
    };
  }

  private ask(link: ModelLink): void {
    if (this.state !== 'idle') {
      link.close();
      return;
    }
    const sent = link.send({
      type: 'model.createResponse',
      instructions: analysisInstructions(this.settings),
      outOfBand: { metadata: { ...ANALYSIS_METADATA } },
    });
    if (!sent) {
      this.state = 'done';
      link.close();
      this.onDone({ ok: false, reason: 'the model socket was not open' });
      return;
    }
    this.state = 'asking';
    this.timer = this.clock.setTimer(this.timeoutMs, () => {
      this.timer = null;
      this.end(link, { ok: false, reason: `no answer within ${this.timeoutMs / 1000} s` });
    });
    this.link = link;
  }

  /** Every event of the call's link (the analysis ignores them until it asks). */
  onModelEvent(event: ModelEvent | ModelLinkEvent): void {
    if (this.state !== 'asking' || this.link === null) return;
    const link = this.link;
    switch (event.type) {
      case 'model.responseCreated':
        this.responseId ??= event.responseId;
        return;
      case 'model.textDone':
        if (this.responseId !== null && event.responseId !== this.responseId) return;
        this.end(link, { ok: true, result: parseAnalysis(event.text, this.settings) });
        return;
      case 'model.responseDone':
        if (event.responseId === this.responseId && event.status !== 'completed')
          this.end(link, { ok: false, reason: `the analysis response ${event.status}` });
        return;
      case 'model.error':
        // before our response started: the request was refused
        if (this.responseId === null) this.end(link, { ok: false, reason: 'the model refused the request' });
        return;
      case 'model.closed':
      case 'model.failed':
        this.end(link, { ok: false, reason: 'the model socket closed' });
        return;
      default:
    }
  }

  private end(link: ModelLink, outcome: AnalysisOutcome): void {
    if (this.state === 'done') return;
    this.state = 'done';
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    link.close();
    this.onDone(outcome);
  }
}
