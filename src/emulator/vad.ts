/**
 * An energy-based voice activity detector on the input-audio clock (the emulator's stand-in
 * for the Realtime API's `server_vad`). Pure and synchronous: samples in, transitions out,
 * times in milliseconds of audio pushed so far — never wall time, so a test may push a whole
 * call at once and get the same answer as a real-time caller.
 *
 * How it decides, per 10 ms frame:
 * - the frame's level L (dBFS, RMS) counts as *speech* when it is above both an absolute
 *   floor derived from `threshold` and the tracked noise floor plus a margin that also grows
 *   with `threshold` (so "higher threshold needs louder speech", as documented upstream);
 * - a turn starts after {@link START_FRAMES} consecutive speech frames; its onset is the
 *   first of them;
 * - a turn stops once `silenceDurationMs` has passed since the end of the last speech frame;
 * - the noise floor starts at the level of the first frame, follows quieter frames down at
 *   once and louder non-speech frames up slowly, and is frozen during a turn.
 *
 * Calibration (measured on the team clips, 10 ms frames, μ-law 8 kHz): speech frames in
 * `call_two_questions` are −40 dBFS at the 10th percentile (−45 in the noisy twin, whose
 * speech is 6 dB quieter); the pink line noise of the noisy twin is −54.7 dBFS median,
 * −49.1 at the 99th percentile and −46.3 at its loudest frame. At threshold 0.5 a frame must
 * exceed max(−45, floor + 12) ≈ −43 dBFS on that line, 3 dB above the loudest noise frame,
 * and for 30 ms in a row. Pauses inside the questions are at most 160 ms.
 */

/** The server_vad knobs the detector honours (PROTOCOLS §5: `threshold` 0–1). */
export interface VadSettings {
  /** 0–1; higher needs louder speech */
  threshold: number;
  /** how long after the last speech frame a turn ends */
  silenceDurationMs: number;
}

/** A change of turn state, on the input-audio clock (ms of audio pushed). */
export type VadTransition =
  /** speech began at `onsetMs` (first speech frame) and was confirmed at `detectedAtMs` */
  | { kind: 'speechStarted'; onsetMs: number; detectedAtMs: number }
  /** the last speech frame ended at `lastSpeechEndMs`; the turn closed at `stopMs` */
  | { kind: 'speechStopped'; lastSpeechEndMs: number; stopMs: number };

/** Frame length. 10 ms resolves onsets finely and is long enough for a stable speech RMS. */
export const VAD_FRAME_MS = 10;
/** Consecutive speech frames needed to start a turn: 30 ms rejects clicks and single noise bursts. */
export const START_FRAMES = 3;
/** Absolute level a speech frame must exceed at threshold 0 and 1 (linear in between): 0.5 → −45 dBFS. */
const ABS_FLOOR_DBFS_AT_0 = -80;
const ABS_FLOOR_DBFS_AT_1 = -10;
/**
 * Margin above the noise floor at threshold 0 and 1 (linear): 0.5 → 12 dB, about twice the
 * noise's p99 − median spread.
 */
const NOISE_MARGIN_DB_AT_0 = 6;
const NOISE_MARGIN_DB_AT_1 = 18;
/** Per-frame rise of the noise floor toward a louder non-speech frame: ≈ 200 ms time constant. */
const NOISE_FLOOR_RISE = 0.05;
/** Level of digital silence, so log10 never sees 0. */
const SILENCE_DBFS = -120;

/** RMS level of a frame in dBFS. */
export function frameLevelDbfs(samples: Int16Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) {
    const x = samples[i]! / 32768;
    sum += x * x;
  }
  const meanSquare = sum / Math.max(1, end - start);
  return meanSquare <= 0 ? SILENCE_DBFS : Math.max(SILENCE_DBFS, 10 * Math.log10(meanSquare));
}

/** The detector; see the file header for the rules and their calibration. Never throws. */
export class EnergyVad {
  private settings: VadSettings;
  /** samples of the current, incomplete frame */
  private pending: Int16Array = new Int16Array(0);
  private pendingRateHz = 0;
  /** ms of audio pushed, including the pending partial frame */
  private clockMs = 0;
  /** start time of the pending partial frame */
  private frameStartMs = 0;
  /** null until the first frame, which seeds it: a line that starts noisy is not a turn. */
  private noiseFloorDbfs: number | null = null;
  private run = 0;
  private runStartMs = 0;
  private inSpeech = false;
  private lastSpeechEndMs = 0;

  constructor(settings: VadSettings) {
    this.settings = { ...settings };
  }

  /** New settings apply from the next frame on. */
  configure(settings: VadSettings): void {
    this.settings = { ...settings };
  }

  /** True while a turn is open. */
  get speaking(): boolean {
    return this.inSpeech;
  }

  /** ms of audio pushed so far. */
  get positionMs(): number {
    return this.clockMs;
  }

  /** Current noise floor estimate, dBFS (for diagnostics and tests); null before any audio. */
  get noiseFloor(): number | null {
    return this.noiseFloorDbfs;
  }

  /** Forgets any turn in progress (buffer cleared or committed by hand); the clock and noise floor stay. */
  reset(): void {
    this.inSpeech = false;
    this.run = 0;
    this.frameStartMs = this.clockMs;
    this.pending = new Int16Array(0);
  }

  /** Absolute speech threshold for the current settings, dBFS. */
  private absoluteFloor(): number {
    const t = Math.max(0, Math.min(1, this.settings.threshold));
    return ABS_FLOOR_DBFS_AT_0 + (ABS_FLOOR_DBFS_AT_1 - ABS_FLOOR_DBFS_AT_0) * t;
  }

  private margin(): number {
    const t = Math.max(0, Math.min(1, this.settings.threshold));
    return NOISE_MARGIN_DB_AT_0 + (NOISE_MARGIN_DB_AT_1 - NOISE_MARGIN_DB_AT_0) * t;
  }

  /**
   * Pushes samples at `rateHz` and returns the transitions they caused, in order.
   * A change of rate drops the partial frame (the format changed mid-stream).
   */
  push(samples: Int16Array, rateHz: number): VadTransition[] {
    const out: VadTransition[] = [];
    if (samples.length === 0) return out;
    if (rateHz !== this.pendingRateHz) {
      this.pending = new Int16Array(0);
      this.pendingRateHz = rateHz;
      this.frameStartMs = this.clockMs;
    }
    this.clockMs += (samples.length * 1000) / rateHz;
    const frameLen = Math.round((rateHz * VAD_FRAME_MS) / 1000);
    let buf = samples;
    if (this.pending.length > 0) {
      buf = new Int16Array(this.pending.length + samples.length);
      buf.set(this.pending, 0);
      buf.set(samples, this.pending.length);
    }
    let offset = 0;
    for (; offset + frameLen <= buf.length; offset += frameLen) {
      this.frame(frameLevelDbfs(buf, offset, offset + frameLen), out);
      this.frameStartMs += VAD_FRAME_MS;
    }
    this.pending = buf.slice(offset);
    return out;
  }

  private frame(level: number, out: VadTransition[]): void {
    const start = this.frameStartMs;
    const end = start + VAD_FRAME_MS;
    this.noiseFloorDbfs ??= level;
    const threshold = Math.max(this.absoluteFloor(), this.noiseFloorDbfs + this.margin());
    const speech = level > threshold;

    if (this.inSpeech) {
      if (speech) this.lastSpeechEndMs = end;
      else if (end - this.lastSpeechEndMs >= this.settings.silenceDurationMs) {
        this.inSpeech = false;
        this.run = 0;
        out.push({
          kind: 'speechStopped',
          lastSpeechEndMs: this.lastSpeechEndMs,
          stopMs: this.lastSpeechEndMs + this.settings.silenceDurationMs,
        });
      }
      return;
    }

    if (speech) {
      if (this.run === 0) this.runStartMs = start;
      this.run++;
      if (this.run >= START_FRAMES) {
        this.inSpeech = true;
        this.lastSpeechEndMs = end;
        out.push({ kind: 'speechStarted', onsetMs: this.runStartMs, detectedAtMs: end });
        return;
      }
    } else {
      this.run = 0;
    }
    // Track the noise floor on frames that are not (yet) a turn.
    if (level < this.noiseFloorDbfs) this.noiseFloorDbfs = level;
    else if (!speech) this.noiseFloorDbfs += (level - this.noiseFloorDbfs) * NOISE_FLOOR_RISE;
  }
}
