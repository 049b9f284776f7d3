/**
 * The call replayer (SPEC §7, `npm run replay`): runs the *current* bridge code — the real
 * {@link CallSession} and {@link CallRunner} — on a {@link VirtualClock} against a recorded
 * call, and reports where the bridge now behaves differently.
 *
 * - Twilio → bridge: the recorded `start`, `media`, `dtmf`, `stop` (and socket closes) at
 *   their recorded times; mark echoes come from a simulated Twilio playout
 *   (`replay-twilio.ts`).
 * - Model → bridge: the recorded server events, each released when what it answered has been
 *   sent by the bridge now (`replay-gates.ts`, `replay-model.ts`), so a changed bridge still
 *   gets a sensible conversation.
 * - What the bridge sends now is compared with the recording (`replay-compare.ts`).
 *
 * No sockets, no timers, no wall clock: a replay is deterministic and runs as fast as the
 * CPU allows. The session is rebuilt from the profile and tuning stored in the recording's
 * header (format v2), not from today's numbers file; {@link ReplayOptions.tuning} overrides
 * the tuning (a test seam).
 */
import { readFileSync } from 'node:fs';

import { parseWav } from '../audio/wav.js';
import { buildCall } from '../call/call-factory.js';
import type { CallControl, CallRunner } from '../call/call-runner.js';
import type { SessionTuning } from '../call/session-tuning.js';
import type { CallEvent, CallOutcome, RecordCommand } from '../call/events.js';
import { callTools } from '../call/tools/registry.js';
import { CustomTool } from '../config/custom-tools.js';
import { BUILTIN_TOOLS, VOICES, type BuiltinTool, type Profile, type Voice } from '../config/numbers.js';
import { modelAudioBytesPerMs } from '../protocol/realtime.js';
import { messageKind, type Recording, type RecordingHeader, type RecordingLine } from '../protocol/recording.js';
import { parseTwilioMessage } from '../protocol/twilio.js';
import { VirtualClock } from '../util/clock.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { APOLOGY_CLIP_FILE } from '../util/project-files.js';

import {
  compareAudio,
  compareDirection,
  DEFAULT_TOLERANCES,
  type AudioComparison,
  type Difference,
  type ReplayTolerances,
} from './replay-compare.js';
import { ReplayModelLink, type ReplayModelStats } from './replay-model.js';
import { ReplayTwilio } from './replay-twilio.js';
import { replayedTools } from './tool-tap.js';

/** How long (virtual ms) the replay waits past the last recorded line for the call to end. */
export const DEFAULT_TAIL_MS = 10_000;

export interface ReplayOptions {
  /** overrides the tuning recorded in the header (test seam: e.g. a wrong truncation cushion) */
  tuning?: Partial<SessionTuning>;
  tolerances?: Partial<ReplayTolerances>;
  /** the runner's logger (silent by default) */
  logger?: Logger;
  /** μ-law 8 kHz apology clip; the shipped one by default */
  apologyMulaw?: Uint8Array;
  /** called now and then with the fraction of the recording replayed (0…1) */
  onProgress?: (fraction: number) => void;
  /** virtual ms to keep running after the last recorded line while the call has not ended */
  tailMs?: number;
}

/** What a replay found. */
export interface ReplayReport {
  /** true when nothing differs beyond tolerance (and the recording could be replayed) */
  ok: boolean;
  header: RecordingHeader;
  /** every difference, in time order */
  differences: Difference[];
  /** problems with the recording itself (unparsable lines); they make `ok` false */
  problems: string[];
  tolerances: ReplayTolerances;
  audio: AudioComparison[];
  /** what the replayed call looked like: all four directions, replayed times */
  replayed: RecordingLine[];
  /** how the call ended now (null: it did not end within the recording plus the tail) */
  outcome: CallOutcome | null;
  /** the call record the bridge kept now: turns and barge-ins */
  records: RecordCommand[];
  model: ReplayModelStats;
  marks: { fromRecording: number; simulated: number };
  /** length of the recording and virtual time replayed, ms */
  recordedMs: number;
  replayedMs: number;
  /** wall time the replay took, ms */
  wallMs: number;
}

/** The session's profile, rebuilt from the recording header. @throws Error when the header has none (format v1) */
export function profileFromHeader(header: RecordingHeader): Profile {
  const p = header.profileConfig;
  if (p === undefined) {
    throw new Error(
      `the recording header has no profile (format version ${header.version}); ` +
        're-record the call with this bridge (format 2) to replay it',
    );
  }
  if (!(VOICES as readonly string[]).includes(p.voice))
    throw new Error(`the recorded profile has an unknown voice ${JSON.stringify(p.voice)}`);
  const tools = p.tools.filter((t): t is BuiltinTool => (BUILTIN_TOOLS as readonly string[]).includes(t));
  const transcription =
    p.transcription === null
      ? null
      : {
          model: p.transcription.model,
          ...(p.transcription.language !== undefined ? { language: p.transcription.language } : {}),
        };
  // The HTTP tools as declared; their requests are never made (the recorded results answer them).
  const customTools = (p.customTools ?? []).map(
    (t) =>
      new CustomTool(
        {
          name: t.name,
          description: t.description,
          parameters: t.parameters,
          http: { url: t.http.url, method: t.http.method, timeout_ms: t.http.timeoutMs },
          ...(t.waitMessage !== null ? { wait_message: t.waitMessage } : {}),
          wait_after_ms: t.waitAfterMs,
        },
        {},
      ),
  );
  return { key: header.profile, ...p, voice: p.voice as Voice, tools, customTools, transcription };
}

let shippedApology: Uint8Array | null = null;
function apologyClip(): Uint8Array {
  if (shippedApology === null) {
    const wav = parseWav(readFileSync(APOLOGY_CLIP_FILE));
    shippedApology = wav.ok && wav.value.encoding === 'mulaw' ? wav.value.data : new Uint8Array(0);
  }
  return shippedApology;
}

interface Scheduled {
  /** absolute clock time, ms */
  t: number;
  order: number;
  seq: number;
  fire: () => void;
}

/** A binary min-heap of scheduled inputs by (t, order, seq). */
class InputQueue {
  private readonly heap: Scheduled[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(t: number, order: number, fire: () => void): void {
    const item = { t, order, seq: this.seq++, fire };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!InputQueue.less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  peek(): Scheduled | undefined {
    return this.heap[0];
  }

  pop(): Scheduled | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && InputQueue.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && InputQueue.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
    return top;
  }

  private static less(a: Scheduled, b: Scheduled): boolean {
    return a.t !== b.t ? a.t < b.t : a.order !== b.order ? a.order < b.order : a.seq < b.seq;
  }
}

/** The `streamSid` of the recorded `start`, or a placeholder. */
function streamSidOf(lines: readonly RecordingLine[]): string {
  const start = lines.find((l) => l.dir === 'twilio_in' && l.msg['event'] === 'start');
  const sid = start?.msg['streamSid'] ?? (start?.msg['start'] as { streamSid?: unknown } | undefined)?.streamSid;
  return typeof sid === 'string' ? sid : 'MZreplay';
}

/**
 * Replays a recording through the current bridge code and compares (see the file header).
 * Never throws for a bad recording line (it is reported); throws only when the header lacks
 * what a replay needs (a format 1 recording).
 */
export async function replayRecording(recording: Recording, options: ReplayOptions = {}): Promise<ReplayReport> {
  const wallStart = performance.now();
  const { header, lines } = recording;
  const profile = profileFromHeader(header);
  const tolerances: ReplayTolerances = { ...DEFAULT_TOLERANCES, ...options.tolerances };
  const recordedTuning = (header.tuning ?? {}) as Partial<SessionTuning>;
  const startedMs = Date.parse(header.startedAt);
  const clock = new VirtualClock(Number.isFinite(startedMs) ? startedMs : Date.UTC(2026, 0, 1));
  const origin = clock.now();
  const now = () => clock.now() - origin;
  const queue = new InputQueue();
  const replayed: RecordingLine[] = [];
  const problems: string[] = [];
  const records: RecordCommand[] = [];
  let runner: CallRunner | null = null;
  let restInFlight = 0;

  // The queue holds absolute clock times, so "due" compares the very numbers the clock was
  // advanced to (origin + t − origin is not always t in floating point).
  const schedule = (t: number, order: number, fire: () => void) =>
    queue.push(Math.max(origin + t, clock.now()), order, fire);
  const deliver = (event: CallEvent) => runner?.dispatch(event);

  const twilio = new ReplayTwilio(
    {
      now,
      schedule,
      deliver: (event) => {
        if (event.type === 'twilio.mark')
          replayed.push({ t: now(), dir: 'twilio_in', msg: { event: 'mark', mark: { name: event.name } } });
        deliver(event);
      },
      emit: (line) => replayed.push(line),
    },
    streamSidOf(lines),
    lines,
  );
  const model = new ReplayModelLink(
    {
      now,
      schedule,
      deliver: (event, line) => {
        replayed.push(line);
        deliver(event);
      },
      emit: (line) => replayed.push(line),
      unparsable: (line, reason) =>
        problems.push(`+${Math.round(line.t)} ms model_out: recorded event not parsable (${reason})`),
    },
    lines,
    header.dialect,
    header.audioMode,
  );
  // REST calls (hang-up, transfer) succeed at once; the runner hears back in a microtask,
  // which the driver waits for (counted down when the runner dispatches `rest.done`).
  const control: CallControl = {
    hangUp: () => {
      restInFlight++;
      return Promise.resolve();
    },
    transfer: () => {
      restInFlight++;
      return Promise.resolve();
    },
  };
  // The same factory as a live call; the recording's sockets stand in for the links.
  const call = buildCall({
    callSid: header.callSid,
    profile,
    clock,
    logger: options.logger ?? silentLogger(),
    apologyMulaw: options.apologyMulaw ?? apologyClip(),
    control: header.canUseRest === true ? control : null,
    tuning: { ...recordedTuning, ...options.tuning },
    twilio: () => twilio,
    model: () => model,
    tap: null,
    tools: replayedTools(
      callTools(profile, { signingSecret: null, now: () => clock.now(), onFailure: () => undefined }),
      (msg) => model.toolCall(msg),
    ),
    observer: {
      onRecord: (r) => records.push(r),
      onEvent: (e) => {
        if (e.type === 'rest.done') restInFlight--;
      },
    },
  });
  const { session } = call;
  runner = call.runner;

  // Twilio → bridge, at the recorded times (marks excepted: simulated playout echoes them).
  lines.forEach((l, i) => {
    if (l.dir !== 'twilio_in') return;
    const kind = messageKind(l.dir, l.msg);
    if (kind === 'mark' || kind === 'connected') return;
    schedule(l.t, i, () => {
      if (twilio.isClosed) return;
      if (kind === 'socket.closed') {
        replayed.push({ t: now(), dir: 'twilio_in', msg: l.msg });
        deliver({ type: 'twilio.closed', code: Number(l.msg['code'] ?? 1005) });
        return;
      }
      const parsed = parseTwilioMessage(JSON.stringify(l.msg));
      if (!parsed.ok) {
        problems.push(`+${Math.round(l.t)} ms twilio_in: recorded message not parsable (${parsed.reason})`);
        return;
      }
      replayed.push({ t: now(), dir: 'twilio_in', msg: l.msg });
      deliver(parsed.event);
    });
  });

  const recordedMs = lines.at(-1)?.t ?? 0;
  const endAt = origin + recordedMs + (options.tailMs ?? DEFAULT_TAIL_MS);
  let steps = 0;
  // Each step delivers a line or fires a timer; far more steps than that is a loop.
  const maxSteps = 100 * lines.length + 100_000;
  while (!runner.isFinished) {
    const nextInput = queue.peek()?.t;
    const nextTimer = clock.nextDueMs();
    const next =
      nextInput === undefined ? nextTimer : nextTimer === undefined ? nextInput : Math.min(nextInput, nextTimer);
    if (next === undefined || next > endAt) break;
    clock.advanceTo(next);
    while ((queue.peek()?.t ?? Infinity) <= clock.now() && !runner.isFinished) queue.pop()!.fire();
    for (let turns = 0; restInFlight > 0 && !runner.isFinished && turns < 100; turns++) await Promise.resolve();
    if (++steps > maxSteps) {
      problems.push(
        `the replay stopped making progress at +${Math.round(now())} ms (a bug in the replayer or the session)`,
      );
      break;
    }
    if (options.onProgress !== undefined && steps % 256 === 0)
      options.onProgress(Math.min(1, now() / Math.max(1, recordedMs)));
  }
  model.finish();
  options.onProgress?.(1);

  const bytesPerMs = modelAudioBytesPerMs(header.audioMode);
  const differences: Difference[] = [
    ...compareDirection(lines, replayed, 'twilio_out', bytesPerMs, tolerances),
    ...compareDirection(lines, replayed, 'model_in', bytesPerMs, tolerances),
  ];
  const audio: AudioComparison[] = [];
  for (const dir of ['twilio_out', 'model_in'] as const) {
    const result = compareAudio(lines, replayed, dir, header.audioMode, tolerances);
    audio.push(result.comparison);
    differences.push(...result.differences);
  }
  differences.sort((a, b) => a.t - b.t);
  return {
    ok: differences.length === 0 && problems.length === 0,
    header,
    differences,
    problems,
    tolerances,
    audio,
    replayed,
    outcome: session.outcome,
    records,
    model: model.stats,
    marks: { fromRecording: twilio.echoedFromRecording, simulated: twilio.echoedSimulated },
    recordedMs,
    replayedMs: now(),
    wallMs: performance.now() - wallStart,
  };
}

function fmtAudio(a: AudioComparison): string {
  if (a.snrDb === null) return 'no audio';
  if (a.identical) return 'identical';
  return `SNR ${a.snrDb === Infinity ? '∞' : a.snrDb.toFixed(1)} dB`;
}

/** The report as text: one line per difference (`+3520 ms twilio_out: …`), then a summary. */
export function formatReport(report: ReplayReport): string {
  const out: string[] = [];
  const h = report.header;
  out.push(
    `recording ${h.callSid} (${h.scenario ?? 'no scenario'}), ${h.dialect} dialect, ${h.audioMode}, ` +
      `recorded by bridge ${h.bridgeVersion} at ${h.startedAt}`,
  );
  for (const p of report.problems) out.push(`problem: ${p}`);
  for (const d of report.differences) out.push(`+${Math.round(d.t)} ms ${d.dir}: ${d.text}`);
  const t = report.tolerances;
  const audio = report.audio.map((a) => `${a.dir} ${(a.replayedMs / 1000).toFixed(2)} s ${fmtAudio(a)}`).join(', ');
  out.push(
    `${report.ok ? 'no differences' : `${report.differences.length + report.problems.length} difference(s)`} ` +
      `beyond tolerance (media ±${t.mediaFrames} frames and ±${t.marks} marks per run, appends ±${t.appendMs} ms, ` +
      `decisions ±${t.decisionMs} ms, audio_end_ms ±${t.truncateMs} ms, audio ≥ ${t.minSnrDb} dB)`,
  );
  out.push(
    `replayed ${(report.replayedMs / 1000).toFixed(2)} s of call ` +
      `(recorded ${(report.recordedMs / 1000).toFixed(2)} s) in ${Math.round(report.wallMs)} ms; ` +
      `outcome ${report.outcome ?? 'call did not end'}; audio: ${audio}; ` +
      `model events released ${report.model.released} (delayed ${report.model.delayed}, ` +
      `withheld ${report.model.withheld}, dropped ${report.model.dropped}); ` +
      `marks echoed as recorded ${report.marks.fromRecording}, simulated ${report.marks.simulated}`,
  );
  return out.join('\n');
}
