/**
 * Per-call measurement state shared by the lean phone and the fake model of that call. Both
 * live in the generator process, so every timestamp is `performance.now()` on one clock.
 *
 * Caller → model: the phone stamps frame k when it sends it; the model maps the cumulative
 * audio bytes it has received back to frame indices (960 bytes of PCM16 24 kHz or 160 bytes
 * of μ-law per 20 ms frame — the transcoder emits exactly 3 samples per input sample, its
 * fixed 1.48 ms filter delay moves content, not counts) and measures receive − send.
 *
 * Model → caller: when the model sends a delta it queues the availability time of every
 * Twilio frame the bridge will derive from it (the frame whose last byte that delta
 * completes; the transcoder's end-of-item tail frames are available when `audio.done` goes
 * out). The bridge keeps order, so the phone pops one entry per frame it receives and
 * measures receive − availability. Entries left when the call is quiet are frames lost;
 * frames with no entry are unexpected.
 */
import { LatencySamples } from './stats.js';

/** Send times kept per call: 20 s of frames. A frame older than that is counted late. */
export const SEND_RING_FRAMES = 1024;
/** Outstanding model → caller frames per call (one answer is ~100). */
const EXPECT_RING_FRAMES = 4096;

/** The window and the latency samples of one generator run (one mode). */
export class Measurements {
  /** every caller frame */
  readonly up: LatencySamples;
  /** the newest caller frame of each append: the bridge's own delay, without the time a frame waits for its batch */
  readonly upNewest: LatencySamples;
  readonly down: LatencySamples;
  /** frames sent (or made available) at or after this time are measured */
  windowStartMs = Number.POSITIVE_INFINITY;
  recording = false;

  constructor(lateMs: number) {
    this.up = new LatencySamples(lateMs);
    this.upNewest = new LatencySamples(lateMs);
    this.down = new LatencySamples(lateMs);
  }

  startWindow(nowMs: number): void {
    this.up.reset();
    this.upNewest.reset();
    this.down.reset();
    this.windowStartMs = nowMs;
    this.recording = true;
  }

  endWindow(): void {
    this.recording = false;
  }
}

export interface ProbeSnapshot {
  framesSent: number;
  framesAnnounced: number;
}

export class CallProbe {
  /** performance.now() of each caller frame's send, by frame index modulo the ring */
  private readonly sendTimes = new Float64Array(SEND_RING_FRAMES);
  framesSent = 0;
  /** caller audio received by the model, bytes in the session's format */
  modelBytes = 0;
  /** whole caller frames received by the model */
  modelFrames = 0;
  /** caller frames the model received beyond what was sent (should stay 0) */
  excessModelFrames = 0;

  private readonly expected = new Float64Array(EXPECT_RING_FRAMES);
  private expectedHead = 0;
  private expectedTail = 0;
  /** assistant frames received by the phone */
  framesHeard = 0;
  /** assistant frames the phone received that no delta accounts for (should stay 0) */
  unexpectedFrames = 0;
  /** assistant frames announced but past the ring (should stay 0) */
  expectedOverflow = 0;

  constructor(
    readonly index: number,
    private readonly m: Measurements,
  ) {}

  /** The phone sent caller frame `framesSent` at `nowMs`. */
  frameSent(nowMs: number): void {
    this.sendTimes[this.framesSent % SEND_RING_FRAMES] = nowMs;
    this.framesSent++;
  }

  /** The model received `byteLength` more caller audio at `nowMs` (`frameBytes` per 20 ms frame). */
  audioReceived(byteLength: number, frameBytes: number, nowMs: number): void {
    this.modelBytes += byteLength;
    const frames = Math.floor(this.modelBytes / frameBytes);
    const m = this.m;
    const newest = Math.min(frames, this.framesSent) - 1;
    if (m.recording && newest >= this.modelFrames && newest >= this.framesSent - SEND_RING_FRAMES) {
      const sentAt = this.sendTimes[newest % SEND_RING_FRAMES]!;
      if (sentAt >= m.windowStartMs) m.upNewest.add(nowMs - sentAt);
    }
    for (let k = this.modelFrames; k < frames; k++) {
      if (k >= this.framesSent) {
        this.excessModelFrames++;
        continue;
      }
      if (k < this.framesSent - SEND_RING_FRAMES) {
        if (m.recording) m.up.addLate();
        continue;
      }
      const sentAt = this.sendTimes[k % SEND_RING_FRAMES]!;
      if (m.recording && sentAt >= m.windowStartMs) m.up.add(nowMs - sentAt);
    }
    this.modelFrames = frames;
  }

  /** The model made `count` more assistant frames available at `nowMs`. */
  framesAvailable(count: number, nowMs: number): void {
    for (let i = 0; i < count; i++) {
      if (this.expectedTail - this.expectedHead >= EXPECT_RING_FRAMES) {
        this.expectedOverflow++;
        continue;
      }
      this.expected[this.expectedTail++ % EXPECT_RING_FRAMES] = nowMs;
    }
  }

  /** The phone received one assistant frame at `nowMs`. */
  frameHeard(nowMs: number): void {
    this.framesHeard++;
    if (this.expectedHead === this.expectedTail) {
      this.unexpectedFrames++;
      return;
    }
    const availableAt = this.expected[this.expectedHead++ % EXPECT_RING_FRAMES]!;
    const m = this.m;
    if (m.recording && availableAt >= m.windowStartMs) m.down.add(nowMs - availableAt);
  }

  /**
   * What has been sent so far, both ways: compare it with {@link lostSince} once in-flight
   * frames had time to arrive.
   */
  snapshot(): ProbeSnapshot {
    return { framesSent: this.framesSent, framesAnnounced: this.expectedTail };
  }

  /**
   * Frames sent before `snapshot` that have not arrived: caller frames the model has not
   * received, and assistant frames the model sent audio for that the phone has not received.
   * Frames sent after the snapshot are in flight, not lost; the calls keep streaming (Twilio
   * never stops sending media during a call), so a bridge that holds a frame back to batch it
   * is not charged for it.
   */
  lostSince(snapshot: ProbeSnapshot): { up: number; down: number } {
    return {
      up: Math.max(0, snapshot.framesSent - this.modelFrames),
      down: Math.max(0, snapshot.framesAnnounced - this.expectedHead) + this.expectedOverflow,
    };
  }
}
