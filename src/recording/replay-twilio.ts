/**
 * Twilio's side of a replay: takes the bridge's Twilio commands, writes them down as
 * `twilio_out` lines, and plays Twilio's part in the mark protocol (PROTOCOLS §2.7) on the
 * virtual clock:
 *
 * - audio plays in order, 20 ms per frame, from when it arrives (or when the audio before
 *   it has played); a mark is echoed when the audio queued before it has played;
 * - `clear` drops the queue and echoes every pending mark at once.
 *
 * Recorded mark echoes are not fed back verbatim (a changed bridge names marks differently),
 * with one exception that keeps replay faithful: when the bridge now sends a mark with the
 * same name at the same time as in the recording, the mark is echoed when the recording says
 * Twilio echoed it. A simulated playout cannot reproduce a real one's jitter of a few ms, and
 * near a barge-in those ms decide which mark was the last one echoed (a 60 ms step in
 * `audio_end_ms`); the recording is the evidence of what Twilio actually did. Everything else
 * is simulated.
 */
import type { TwilioSide } from '../call/call-runner.js';
import type { CallEvent, TwilioCommand } from '../call/events.js';
import type { RecordingLine } from '../protocol/recording.js';

/** One Twilio frame is 20 ms of μ-law. */
const FRAME_MS = 20;
/**
 * A mark sent within this many ms of its recorded send time counts as "sent at the same
 * time". Recorded times come from a ms clock, and receiving a delta and writing its frames
 * to Twilio straddle a ms tick now and then; half a frame is well below any playout change.
 */
const SAME_TIME_MS = 10;

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
  echoT: number | null;
  /** line index of the echo, for ordering among lines at the same ms */
  echoLine: number | null;
}

interface PendingMark {
  name: string;
  /** when the echo is due; a cleared mark is echoed at once */
  dueT: number;
  cancelled: boolean;
}

/** Orders simulated echoes after recorded lines at the same ms. */
const SIMULATED_ORDER = Number.MAX_SAFE_INTEGER;

export class ReplayTwilio implements TwilioSide {
  private readonly recordedMarks = new Map<string, RecordedMark>();
  private readonly pending: PendingMark[] = [];
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
    lines.forEach((l, i) => {
      if (l.dir === 'twilio_out' && l.msg['event'] === 'mark') {
        const name = (l.msg['mark'] as { name?: unknown } | undefined)?.name;
        if (typeof name === 'string' && !this.recordedMarks.has(name)) this.recordedMarks.set(name, { sentT: l.t, echoT: null, echoLine: null });
      } else if (l.dir === 'twilio_in' && l.msg['event'] === 'mark') {
        const name = (l.msg['mark'] as { name?: unknown } | undefined)?.name;
        const mark = typeof name === 'string' ? this.recordedMarks.get(name) : undefined;
        if (mark !== undefined && mark.echoT === null) {
          mark.echoT = l.t;
          mark.echoLine = i;
        }
      }
    });
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
        this.host.emit({ t, dir: 'twilio_out', msg: { event: 'media', streamSid: this.streamSid, media: { payload: cmd.payload.toString('base64') } } });
        this.playEndT = Math.max(this.playEndT, t) + (cmd.payload.length / 160) * FRAME_MS;
        return;
      case 'twilio.mark':
        this.host.emit({ t, dir: 'twilio_out', msg: { event: 'mark', streamSid: this.streamSid, mark: { name: cmd.name } } });
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
    const simulatedT = Math.max(floorT, this.playEndT);
    const mark: PendingMark = { name, dueT: simulatedT, cancelled: false };
    this.pending.push(mark);
    if (recorded !== undefined && recorded.echoT !== null && Math.abs(recorded.sentT - t) <= SAME_TIME_MS && recorded.echoT >= floorT) {
      mark.dueT = recorded.echoT;
      this.echoedFromRecording++;
      this.host.schedule(recorded.echoT, recorded.echoLine ?? SIMULATED_ORDER, this.echoEvent(mark));
    } else {
      this.echoedSimulated++;
      this.host.schedule(simulatedT, SIMULATED_ORDER, this.echoEvent(mark));
    }
  }

  /** Echoes the mark when due, unless a `clear` echoed it already. */
  private echoEvent(mark: PendingMark): () => void {
    return () => {
      if (mark.cancelled) return;
      const index = this.pending.indexOf(mark);
      if (index >= 0) this.pending.splice(index, 1);
      this.host.deliver({ type: 'twilio.mark', name: mark.name });
    };
  }

  private clear(t: number): void {
    // Twilio drops the queued audio and echoes every pending mark now.
    for (const mark of this.pending.splice(0)) {
      if (mark.cancelled) continue;
      mark.cancelled = true;
      this.host.schedule(t, SIMULATED_ORDER, () => this.host.deliver({ type: 'twilio.mark', name: mark.name }));
    }
    this.playEndT = t;
  }
}
