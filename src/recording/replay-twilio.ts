/**
 * Twilio's side of a replay: takes the bridge's Twilio commands, writes them down as
 * `twilio_out` lines, and plays Twilio's part in the mark protocol (PROTOCOLS §2.7) on the
 * virtual clock:
 *
 * - audio plays in order from when it arrives (or when the audio before it has played); a
 *   mark is echoed when the audio queued before it has played;
 * - `clear` drops the queue and echoes every pending mark at once.
 *
 * Recorded mark echoes are not fed back verbatim (a changed bridge names marks differently),
 * with one exception that keeps replay faithful: when the bridge now sends a mark with the
 * same name as in the recording, and not later than it was recorded, the mark is echoed when
 * the recording says Twilio echoed it. A simulated playout cannot reproduce a real one's
 * jitter of a few ms, and near a barge-in those ms decide which mark was the last one echoed
 * (a 60 ms step in `audio_end_ms`); the recording is the evidence of what Twilio did. (A mark
 * sent *earlier* now than recorded still matches: the recorded send time is when the bridge's
 * socket took it, which under load can lag the decision.) Such an echo also anchors the
 * simulated playout: the audio queued after the mark plays from the recorded echo on. A mark
 * whose recorded echo came from a `clear` was not played by then, so it is not echoed as
 * played before that time. Everything else is simulated, at the playout rate the recording
 * shows (1× for Twilio; a simulated phone may run faster).
 */
import type { TwilioSide } from '../call/call-runner.js';
import type { CallEvent, TwilioCommand } from '../call/events.js';
import type { RecordingLine } from '../protocol/recording.js';

/** One Twilio frame: 160 bytes, 20 ms of μ-law. */
const FRAME_BYTES = 160;
const FRAME_MS = 20;
/** A mark sent up to this many ms later than recorded still uses its recorded echo (ms-clock rounding). */
const LATE_SEND_SLACK_MS = 10;
/** Orders simulated echoes after recorded lines at the same ms. */
const SIMULATED_ORDER = Number.MAX_SAFE_INTEGER;

/** What the virtual Twilio needs from the replay driver. */
export interface ReplayTwilioHost {
  /** ms since the call started, on the virtual clock */
  now(): number;
  /** runs `fire` at `t` (ms since start); `order` breaks ties (recorded line index) */
  schedule(t: number, order: number, fire: () => void): void;
  /** hands a Twilio → bridge event to the bridge now */
  deliver(event: CallEvent): void;
  /** a line the bridge sent (twilio_out) */
  emit(line: RecordingLine): void;
}

interface RecordedMark {
  sentT: number;
  /** audio ms sent before it since the last clear */
  audioMs: number;
  echoT: number | null;
  /** line index of the echo, for ordering among lines at the same ms */
  echoLine: number | null;
  /** a clear came between sending and echo (the echo says nothing about playout) */
  cleared: boolean;
}

interface PendingMark {
  name: string;
  dueT: number;
  cancelled: boolean;
}

function markName(l: RecordingLine): string | null {
  const name = (l.msg['mark'] as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : null;
}

/**
 * The playout rate the recording shows: for consecutive marks echoed while the second was
 * already queued (so playout, not arrival, paced them), audio between them over time between
 * their echoes; the median, snapped to 1 within 5 %. 1 when the recording has no such pair.
 */
export function recordedPlayoutRate(lines: readonly RecordingLine[]): number {
  const marks = readRecordedMarks(lines);
  const ordered = [...marks.values()].filter((m) => m.echoT !== null && !m.cleared).sort((a, b) => a.sentT - b.sentT);
  const ratios: number[] = [];
  for (let i = 1; i < ordered.length; i++) {
    const a = ordered[i - 1]!;
    const b = ordered[i]!;
    const audio = b.audioMs - a.audioMs;
    const dt = b.echoT! - a.echoT!;
    if (audio > 0 && dt > 0 && b.sentT < a.echoT!) ratios.push(audio / dt);
  }
  if (ratios.length < 3) return 1;
  ratios.sort((x, y) => x - y);
  const median = ratios[Math.floor(ratios.length / 2)]!;
  return Math.abs(median - 1) <= 0.05 ? 1 : Math.min(64, Math.max(0.25, median));
}

function readRecordedMarks(lines: readonly RecordingLine[]): Map<string, RecordedMark> {
  const marks = new Map<string, RecordedMark>();
  let audioMs = 0;
  let pending: RecordedMark[] = [];
  lines.forEach((l, i) => {
    if (l.dir === 'twilio_out') {
      const event = l.msg['event'];
      if (event === 'media') {
        const payload = (l.msg['media'] as { payload?: unknown } | undefined)?.payload;
        if (typeof payload === 'string') audioMs += (Buffer.byteLength(payload, 'base64') / FRAME_BYTES) * FRAME_MS;
      } else if (event === 'mark') {
        const name = markName(l);
        if (name !== null && !marks.has(name)) {
          const mark: RecordedMark = { sentT: l.t, audioMs, echoT: null, echoLine: null, cleared: false };
          marks.set(name, mark);
          pending.push(mark);
        }
      } else if (event === 'clear') {
        for (const m of pending) m.cleared = true;
        pending = [];
        audioMs = 0;
      }
    } else if (l.dir === 'twilio_in' && l.msg['event'] === 'mark') {
      const name = markName(l);
      const mark = name === null ? undefined : marks.get(name);
      if (mark !== undefined && mark.echoT === null) {
        mark.echoT = l.t;
        mark.echoLine = i;
        pending = pending.filter((m) => m !== mark);
      }
    }
  });
  return marks;
}

/** The virtual Twilio media socket of a replay (see the file header). */
export class ReplayTwilio implements TwilioSide {
  private readonly recordedMarks: Map<string, RecordedMark>;
  private readonly pending: PendingMark[] = [];
  /** ms of virtual time one ms of audio takes to play */
  private readonly msPerAudioMs: number;
  /** when the audio queued so far has finished playing (ms since start) */
  private playEndT = 0;
  private closedFlag = false;
  /** marks echoed as the recording said / by simulation (report figures) */
  echoedFromRecording = 0;
  echoedSimulated = 0;

  constructor(
    private readonly host: ReplayTwilioHost,
    private readonly streamSid: string,
    lines: readonly RecordingLine[],
  ) {
    this.recordedMarks = readRecordedMarks(lines);
    this.msPerAudioMs = 1 / recordedPlayoutRate(lines);
  }

  /** True once the bridge closed the media socket (later Twilio lines are not delivered). */
  get isClosed(): boolean {
    return this.closedFlag;
  }

  execute(cmd: TwilioCommand): void {
    if (this.closedFlag) return;
    const t = this.host.now();
    switch (cmd.type) {
      case 'twilio.media':
        this.host.emit({
          t,
          dir: 'twilio_out',
          msg: { event: 'media', streamSid: this.streamSid, media: { payload: cmd.payload.toString('base64') } },
        });
        this.playEndT = Math.max(this.playEndT, t) + (cmd.payload.length / FRAME_BYTES) * FRAME_MS * this.msPerAudioMs;
        return;
      case 'twilio.mark':
        this.host.emit({
          t,
          dir: 'twilio_out',
          msg: { event: 'mark', streamSid: this.streamSid, mark: { name: cmd.name } },
        });
        this.queueMark(cmd.name, t);
        return;
      case 'twilio.clear':
        this.host.emit({ t, dir: 'twilio_out', msg: { event: 'clear', streamSid: this.streamSid } });
        this.clear(t);
        return;
      case 'twilio.close':
        this.host.emit({ t, dir: 'twilio_out', msg: { event: 'socket.close', code: cmd.code, reason: cmd.reason } });
        this.closedFlag = true;
        return;
    }
  }

  close(): void {
    this.closedFlag = true;
  }

  private queueMark(name: string, t: number): void {
    const recorded = this.recordedMarks.get(name);
    // Twilio echoes in queue order: never before a mark queued earlier.
    const floorT = Math.max(t, this.pending.at(-1)?.dueT ?? t);
    const mark: PendingMark = { name, dueT: Math.max(floorT, this.playEndT), cancelled: false };
    let order = SIMULATED_ORDER;
    const sameMark =
      recorded !== undefined &&
      recorded.echoT !== null &&
      t <= recorded.sentT + LATE_SEND_SLACK_MS &&
      recorded.echoT >= floorT;
    if (sameMark && !recorded.cleared) {
      // Twilio played everything before this mark by then: the simulated playout continues from there.
      mark.dueT = recorded.echoT!;
      this.playEndT = recorded.echoT!;
      order = recorded.echoLine ?? SIMULATED_ORDER;
      this.echoedFromRecording++;
    } else {
      if (sameMark) {
        // The recording's echo came from a clear: the audio before this mark had not played by then.
        mark.dueT = Math.max(mark.dueT, recorded.echoT!);
        this.playEndT = Math.max(this.playEndT, recorded.echoT!);
      }
      this.echoedSimulated++;
    }
    this.pending.push(mark);
    this.host.schedule(mark.dueT, order, () => {
      if (mark.cancelled) return;
      const index = this.pending.indexOf(mark);
      if (index >= 0) this.pending.splice(index, 1);
      this.host.deliver({ type: 'twilio.mark', name: mark.name });
    });
  }

  private clear(t: number): void {
    // Twilio drops the queued audio and echoes every pending mark now.
    for (const mark of this.pending.splice(0)) {
      mark.cancelled = true;
      this.host.schedule(t, SIMULATED_ORDER, () => this.host.deliver({ type: 'twilio.mark', name: mark.name }));
    }
    this.playEndT = t;
  }
}
