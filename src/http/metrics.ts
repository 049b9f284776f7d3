/**
 * Prometheus metrics (SPEC §3 `/metrics`) with prom-client. One registry per bridge (not the
 * global default), so several bridges in one process — tests — keep separate counts.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';

/** Buckets for per-frame processing inside the bridge: tens of µs to tens of ms. */
const FRAME_BUCKETS_S = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05];
/** Buckets for conversational latency: 100 ms to 10 s. */
const TURN_BUCKETS_S = [0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

export class BridgeMetrics {
  readonly registry = new Registry();
  readonly activeCalls = new Gauge({
    name: 'bridge_active_calls',
    help: 'Calls with an open media stream',
    registers: [this.registry],
  });
  readonly callsTotal = new Counter({
    name: 'bridge_calls_total',
    help: 'Finished calls by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly framesIn = new Counter({
    name: 'bridge_frames_in_total',
    help: 'Caller audio frames received from Twilio',
    registers: [this.registry],
  });
  readonly framesOut = new Counter({
    name: 'bridge_frames_out_total',
    help: 'Assistant audio frames sent to Twilio',
    registers: [this.registry],
  });
  readonly bargeIns = new Counter({
    name: 'bridge_barge_ins_total',
    help: 'Times a caller interrupted the assistant',
    registers: [this.registry],
  });
  readonly modelReconnects = new Counter({
    name: 'bridge_model_reconnects_total',
    help: 'Realtime socket reconnections',
    registers: [this.registry],
  });
  readonly webhookRejections = new Counter({
    name: 'bridge_webhook_rejections_total',
    help: 'Refused webhooks and media streams by reason (capacity: MAX_CONCURRENT_CALLS reached)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly connectionsDropped = new Counter({
    name: 'bridge_connections_dropped_total',
    help: 'TCP connections closed at once because MAX_CONNECTIONS were open',
    registers: [this.registry],
  });
  readonly outboundAudioDropped = new Counter({
    name: 'bridge_outbound_audio_dropped_total',
    help: 'Assistant audio messages dropped because a stalled Twilio socket let its queue reach its bound',
    registers: [this.registry],
  });
  readonly recordingsDeleted = new Counter({
    name: 'bridge_recordings_deleted_total',
    help: 'Call recordings deleted by RECORDINGS_RETENTION_DAYS or RECORDINGS_MAX_GB',
    registers: [this.registry],
  });
  readonly storeErrors = new Counter({
    name: 'bridge_store_errors_total',
    help: 'Call-store writes that failed (once per write, however often it was retried), by write',
    labelNames: ['op'] as const,
    registers: [this.registry],
  });
  readonly storeDropped = new Counter({
    name: 'bridge_store_dropped_total',
    help: 'Call-store writes given up: the write queue was full, or the database refused the write for good',
    labelNames: ['op'] as const,
    registers: [this.registry],
  });
  readonly storeQueued = new Gauge({
    name: 'bridge_store_queued_writes',
    help: 'Call-store writes waiting to be written (grows while another process locks the database)',
    registers: [this.registry],
  });
  // call events (SPEC §10)
  readonly eventsTotal = new Counter({
    name: 'bridge_events_total',
    help:
      'Event delivery attempts by event type and result ' +
      '(delivered; retrying: failed and will be retried; failed: given up)',
    labelNames: ['type', 'status'] as const,
    registers: [this.registry],
  });
  readonly eventDelivery = new Histogram({
    name: 'bridge_event_delivery_seconds',
    help: 'Time from an event being stored to its webhook accepting it',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
    registers: [this.registry],
  });
  readonly eventsPending = new Gauge({
    name: 'bridge_events_pending',
    help: 'Events stored and not yet delivered or failed',
    registers: [this.registry],
  });
  readonly frameLatency = new FrameLatencyHistogram(this.registry);
  readonly firstAudio = new Histogram({
    name: 'bridge_first_audio_seconds',
    help:
      'Time from the caller finishing a turn (or the call starting, for a greeting) ' +
      'to the first assistant audio sent',
    labelNames: ['after'] as const,
    buckets: TURN_BUCKETS_S,
    registers: [this.registry],
  });
  readonly bargeInClear = new Histogram({
    name: 'bridge_barge_in_clear_seconds',
    help: "Time from the model's speech_started arriving to Twilio clear being sent",
    buckets: FRAME_BUCKETS_S,
    registers: [this.registry],
  });
  readonly eventLoopDelayP99 = new Gauge({
    name: 'bridge_event_loop_delay_p99_seconds',
    help: 'p99 event-loop delay since the previous scrape',
    registers: [this.registry],
  });
  private readonly loopDelay: IntervalHistogram;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.loopDelay.enable();
  }

  /**
   * Prometheus text format; the event-loop p99 covers the time since the previous scrape.
   * prom-client writes NaN as `Nan` (e.g. its event-loop lag gauges when a scrape follows
   * another within their 10 ms sampling interval); the format's spelling is `NaN`.
   */
  async render(): Promise<string> {
    this.eventLoopDelayP99.set(this.loopDelay.percentile(99) / 1e9);
    this.loopDelay.reset();
    return (await this.registry.metrics()).replace(/ Nan$/gm, ' NaN');
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    this.loopDelay.disable();
  }
}

type Direction = 'caller_to_model' | 'model_to_caller';
const DIRECTIONS: readonly Direction[] = ['caller_to_model', 'model_to_caller'];

/**
 * `bridge_frame_latency_seconds`: observed for every audio message in both directions — about
 * 60 times a second per call, the hottest metric there is. prom-client's `observe` validates and
 * hashes the label set on every call, which showed in the load bench's profile
 * (bench/README.md); this keeps plain per-direction counts and hands prom-client's
 * registry the same histogram series at scrape time, in the shape its own histograms use.
 */
export class FrameLatencyHistogram {
  readonly name = 'bridge_frame_latency_seconds';
  readonly help = 'Time inside the bridge from a frame arriving to its audio being written to the other socket';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** per direction: count per bucket (non-cumulative; the last slot is +Inf) */
  private readonly buckets = new Map<Direction, Float64Array>();
  private readonly sums = new Map<Direction, number>();

  constructor(registry: Registry) {
    registry.registerMetric(this as unknown as Metric);
  }

  observe(direction: Direction, seconds: number): void {
    let counts = this.buckets.get(direction);
    if (counts === undefined) {
      counts = new Float64Array(FRAME_BUCKETS_S.length + 1);
      this.buckets.set(direction, counts);
    }
    let b = 0;
    while (b < FRAME_BUCKETS_S.length && seconds > FRAME_BUCKETS_S[b]!) b++;
    counts[b]! += 1;
    this.sums.set(direction, (this.sums.get(direction) ?? 0) + seconds);
  }

  /** What prom-client's registry reads to render the metric. */
  get(): {
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { labels: Record<string, string | number>; value: number; metricName: string }[];
  } {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const direction of DIRECTIONS) {
      const counts = this.buckets.get(direction);
      if (counts === undefined) continue;
      let cumulative = 0;
      FRAME_BUCKETS_S.forEach((le, i) => {
        cumulative += counts[i]!;
        values.push({ labels: { le, direction }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      cumulative += counts[FRAME_BUCKETS_S.length]!;
      values.push({ labels: { le: '+Inf', direction }, value: cumulative, metricName: `${this.name}_bucket` });
      values.push({ labels: { direction }, value: this.sums.get(direction) ?? 0, metricName: `${this.name}_sum` });
      values.push({ labels: { direction }, value: cumulative, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.buckets.clear();
    this.sums.clear();
  }
}
