/**
 * Compares what the bridge sends now with what it sent when the call was recorded
 * (SPEC §7, STYLE §2.9): per direction (`twilio_out`, `model_in`) the kinds of messages and
 * their order, the barge-in decisions, the session configuration and other request payloads,
 * and the audio by signal-to-noise ratio — never byte for byte.
 *
 * - Sequences: runs of Twilio `media` (with the `mark`s between them; each response starts
 *   a new run) and runs of
 *   `input_audio_buffer.append` collapse to one token with a frame / ms count; every other
 *   message is a token of its kind. The two token lists are aligned (Myers diff on kinds);
 *   unaligned tokens are reported as missing or unexpected, aligned runs whose length differs
 *   beyond the tolerance as a length difference.
 * - Barge-in decisions: every `clear`, `response.cancel`, `conversation.item.truncate`,
 *   `conversation.item.delete` and the bridge's socket close, aligned as above: same item and
 *   response ids, `audio_end_ms` and time within tolerance.
 * - Payloads: `session.update` field by field (named "session configuration"), other requests
 *   (`response.create`, `conversation.item.create`, …) as a whole, ignoring `event_id`.
 * - Audio: all Twilio audio (μ-law decoded) and all appended model audio, concatenated, each
 *   compared with `snrDb` after a lag and gain fit.
 *
 * Pure: recorded and replayed lines in, differences out.
 */
import { decodeMulaw } from '../audio/g711.js';
import { snrDb } from '../audio/measure.js';
import { pcm16FromBytes } from '../audio/transcoder.js';
import { messageKind, type Direction, type RecordingLine } from '../protocol/recording.js';
import { base64ByteLength } from '../protocol/base64.js';
import { isWireObject } from '../protocol/wire-object.js';

/** How far the replay may stray before it counts as a difference. */
export interface ReplayTolerances {
  /** a run of Twilio media frames may differ by this many 20 ms frames */
  mediaFrames: number;
  /** … and by this many marks */
  marks: number;
  /** a run of appended caller audio may differ by this many ms */
  appendMs: number;
  /** a barge-in decision (clear, cancel, truncate, delete) or the bridge's hang-up may move by this many ms */
  decisionMs: number;
  /** `audio_end_ms` of a truncate may differ by this many ms */
  truncateMs: number;
  /** audio must match the recording at least this well (SNR after lag and gain fit, dB) */
  minSnrDb: number;
  /** the lag searched when fitting audio, ms */
  maxLagMs: number;
}

/**
 * Defaults. An unchanged bridge replays exactly (0 frames, 0 ms, SNR +∞); the slack is for
 * changes that should not count as regressions: a run may end a frame or two earlier when
 * timing shifts by a frame; 40 ms on `audio_end_ms` is under one mark interval (60 ms), so
 * a different mark arithmetic or cushion shows; a run's marks may differ by one (a run
 * that ends a frame earlier may lose its last mark); 30 dB is far above what any audible
 * difference scores, and far below what an unchanged transcoder gives (identical samples).
 */
export const DEFAULT_TOLERANCES: ReplayTolerances = {
  mediaFrames: 2,
  marks: 1,
  appendMs: 40,
  decisionMs: 40,
  truncateMs: 40,
  minSnrDb: 30,
  maxLagMs: 5,
};

/** One difference, as the report names it. */
export interface Difference {
  /** ms since the call started (replayed time, or recorded time for something now missing) */
  t: number;
  dir: Direction;
  /** `sequence`, `barge-in`, `session`, `payload`, `audio` */
  aspect: 'sequence' | 'barge-in' | 'session' | 'payload' | 'audio';
  text: string;
}

/** Audio figures for the report. */
export interface AudioComparison {
  dir: 'twilio_out' | 'model_in';
  recordedMs: number;
  replayedMs: number;
  /** +Infinity when the samples match exactly (over the overlap); null when both are empty */
  snrDb: number | null;
  /** byte for byte the same audio over the overlap (lengths are compared on their own) */
  identical: boolean;
  lagMs: number;
}

interface Token {
  kind: string;
  t: number;
  /** frames (media) or ms (append) in a run; 1 otherwise */
  amount: number;
  /** marks within a media run */
  marks: number;
  line: RecordingLine | null;
}

/**
 * A new response (`response.created` from the model) ends the Twilio media run, so each
 * answer is compared on its own rather than the whole call as one run. The boundary is taken
 * from the conversation, not from pauses in sending, which shift with load.
 */
const RUN_BREAKS = new Set(['response.created']);

const DECISIONS = new Set([
  'clear',
  'socket.close',
  'response.cancel',
  'conversation.item.truncate',
  'conversation.item.delete',
]);

function base64Bytes(b64: unknown): number {
  return typeof b64 === 'string' ? base64ByteLength(b64) : 0;
}

/** Collapses a direction's lines into tokens (see the file header); `lines` may hold all four directions. */
export function tokenize(
  lines: readonly RecordingLine[],
  dir: 'twilio_out' | 'model_in',
  modelBytesPerMs: number,
): Token[] {
  const tokens: Token[] = [];
  let run: Token | null = null;
  for (const l of lines) {
    if (l.dir !== dir) {
      if (dir === 'twilio_out' && l.dir === 'model_out' && RUN_BREAKS.has(messageKind(l.dir, l.msg))) run = null;
      continue;
    }
    const kind = messageKind(dir, l.msg);
    if (dir === 'twilio_out' && (kind === 'media' || kind === 'mark')) {
      if (run === null) {
        run = { kind: 'media', t: l.t, amount: 0, marks: 0, line: null };
        tokens.push(run);
      }
      if (kind === 'media')
        run.amount += base64Bytes((l.msg['media'] as { payload?: unknown } | undefined)?.payload) / 160;
      else run.marks++;
      continue;
    }
    if (dir === 'model_in' && kind === 'input_audio_buffer.append') {
      if (run === null) {
        run = { kind: 'append', t: l.t, amount: 0, marks: 0, line: null };
        tokens.push(run);
      }
      run.amount += base64Bytes(l.msg['audio']) / modelBytesPerMs;
      continue;
    }
    run = null;
    tokens.push({ kind, t: l.t, amount: 1, marks: 0, line: l });
  }
  return tokens;
}

type Edit = { op: 'same'; a: number; b: number } | { op: 'del'; a: number } | { op: 'ins'; b: number };

/** Beyond this many edits the sequences have little in common: report them wholesale. */
const MAX_EDIT_DISTANCE = 2_000;

function coarseEdits(n: number, m: number): Edit[] {
  const edits: Edit[] = [];
  for (let a = 0; a < n; a++) edits.push({ op: 'del', a });
  for (let b = 0; b < m; b++) edits.push({ op: 'ins', b });
  return edits;
}

/**
 * Myers' O((N+M)·D) shortest edit script between two sequences of kinds (`a` = recorded,
 * `b` = replayed). Sequences more than {@link MAX_EDIT_DISTANCE} edits apart come back as
 * "all deleted, all inserted".
 */
export function diffKinds(a: readonly string[], b: readonly string[]): Edit[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  // Each step's frontier is kept only where it was read (k = −d−1 … d+1): O(D²) memory.
  const trace: Int32Array[] = [];
  search: for (let d = 0; d <= max; d++) {
    if (d > MAX_EDIT_DISTANCE) return coarseEdits(n, m);
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) break search;
    }
  }
  // Walk back through the frontier saved before each step.
  const edits: Edit[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d]!;
    const at = (kk: number): number => vd[kk + d + 1]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) edits.push({ op: 'same', a: --x, b: --y });
    if (d > 0) {
      if (x === prevX) edits.push({ op: 'ins', b: prevY });
      else edits.push({ op: 'del', a: prevX });
    }
    x = prevX;
    y = prevY;
  }
  return edits.reverse();
}

function describeToken(tok: Token): string {
  if (tok.kind === 'media') return `${Math.round(tok.amount)} media frames`;
  if (tok.kind === 'append') return `${Math.round(tok.amount)} ms of appended audio`;
  if (tok.kind === 'conversation.item.truncate') {
    const m = tok.line!.msg;
    return `truncate ${String(m['item_id'])} audio_end_ms ${String(m['audio_end_ms'])}`;
  }
  if (tok.kind === 'response.cancel') {
    const responseId = tok.line!.msg['response_id'];
    return `response.cancel ${typeof responseId === 'string' ? responseId : ''}`.trim();
  }
  if (tok.kind === 'conversation.item.delete') return `conversation.item.delete ${String(tok.line!.msg['item_id'])}`;
  if (tok.kind === 'socket.close') {
    const reason = tok.line!.msg['reason'];
    return `close of the media socket (${typeof reason === 'string' ? reason : ''})`;
  }
  return tok.kind;
}

/** Paths where two JSON values differ, with both values (shortened). */
export function jsonDifferences(recorded: unknown, replayed: unknown, at = ''): string[] {
  if (JSON.stringify(recorded) === JSON.stringify(replayed)) return [];
  if (isWireObject(recorded) && isWireObject(replayed)) {
    const out: string[] = [];
    for (const key of new Set([...Object.keys(recorded), ...Object.keys(replayed)])) {
      if (key === 'event_id') continue;
      out.push(...jsonDifferences(recorded[key], replayed[key], at === '' ? key : `${at}.${key}`));
    }
    return out;
  }
  if (Array.isArray(recorded) && Array.isArray(replayed) && recorded.length === replayed.length) {
    return recorded.flatMap((r, i) => jsonDifferences(r, replayed[i], `${at}[${i}]`));
  }
  const show = (v: unknown) => {
    const s = v === undefined ? '(absent)' : JSON.stringify(v);
    return s.length > 80 ? `${s.slice(0, 77)}…` : s;
  };
  return [`${at || '(whole message)'} ${show(replayed)} (recorded ${show(recorded)})`];
}

function compareDecision(rec: Token, now: Token, dir: Direction, tol: ReplayTolerances, out: Difference[]): void {
  const dt = now.t - rec.t;
  const what = describeToken(now);
  if (Math.abs(dt) > tol.decisionMs) {
    out.push({
      t: now.t,
      dir,
      aspect: 'barge-in',
      text: `${what} at +${Math.round(now.t)} ms (recorded +${Math.round(rec.t)} ms, tolerance ${tol.decisionMs})`,
    });
  }
  const r = rec.line!.msg;
  const n = now.line!.msg;
  switch (rec.kind) {
    case 'conversation.item.truncate': {
      if (r['item_id'] !== n['item_id'] || r['content_index'] !== n['content_index']) {
        out.push({
          t: now.t,
          dir,
          aspect: 'barge-in',
          text:
            `truncate of ${String(n['item_id'])}[${String(n['content_index'])}] ` +
            `(recorded ${String(r['item_id'])}[${String(r['content_index'])}])`,
        });
      }
      const a = Number(n['audio_end_ms']);
      const b = Number(r['audio_end_ms']);
      if (Math.abs(a - b) > tol.truncateMs) {
        out.push({
          t: now.t,
          dir,
          aspect: 'barge-in',
          text: `truncate ${String(n['item_id'])} audio_end_ms ${a} (recorded ${b}, tolerance ${tol.truncateMs})`,
        });
      }
      break;
    }
    case 'response.cancel':
      if ((r['response_id'] ?? null) !== (n['response_id'] ?? null)) {
        out.push({
          t: now.t,
          dir,
          aspect: 'barge-in',
          text: `response.cancel of ${String(n['response_id'])} (recorded ${String(r['response_id'])})`,
        });
      }
      break;
    case 'conversation.item.delete':
      if (r['item_id'] !== n['item_id'])
        out.push({
          t: now.t,
          dir,
          aspect: 'barge-in',
          text: `conversation.item.delete of ${String(n['item_id'])} (recorded ${String(r['item_id'])})`,
        });
      break;
    case 'socket.close':
      if (r['code'] !== n['code'] || r['reason'] !== n['reason']) {
        out.push({
          t: now.t,
          dir,
          aspect: 'barge-in',
          text:
            `media socket closed with ${String(n['code'])} ${String(n['reason'])} ` +
            `(recorded ${String(r['code'])} ${String(r['reason'])})`,
        });
      }
      break;
    default:
      break;
  }
}

/** Compares one direction's sequence, decisions and payloads. */
export function compareDirection(
  recorded: readonly RecordingLine[],
  replayed: readonly RecordingLine[],
  dir: 'twilio_out' | 'model_in',
  modelBytesPerMs: number,
  tol: ReplayTolerances,
): Difference[] {
  const a = tokenize(recorded, dir, modelBytesPerMs);
  const b = tokenize(replayed, dir, modelBytesPerMs);
  const out: Difference[] = [];
  for (const edit of diffKinds(
    a.map((t) => t.kind),
    b.map((t) => t.kind),
  )) {
    if (edit.op === 'del') {
      const tok = a[edit.a]!;
      out.push({
        t: tok.t,
        dir,
        aspect: DECISIONS.has(tok.kind) ? 'barge-in' : 'sequence',
        text: `missing ${describeToken(tok)} (recorded at +${Math.round(tok.t)} ms)`,
      });
      continue;
    }
    if (edit.op === 'ins') {
      const tok = b[edit.b]!;
      out.push({
        t: tok.t,
        dir,
        aspect: DECISIONS.has(tok.kind) ? 'barge-in' : 'sequence',
        text: `unexpected ${describeToken(tok)}`,
      });
      continue;
    }
    const rec = a[edit.a]!;
    const now = b[edit.b]!;
    if (rec.kind === 'media') {
      if (Math.abs(rec.amount - now.amount) > tol.mediaFrames) {
        out.push({
          t: now.t,
          dir,
          aspect: 'sequence',
          text:
            `run of ${Math.round(now.amount)} media frames ` +
            `(recorded ${Math.round(rec.amount)}, tolerance ±${tol.mediaFrames})`,
        });
      }
      if (Math.abs(rec.marks - now.marks) > tol.marks) {
        out.push({
          t: now.t,
          dir,
          aspect: 'sequence',
          text:
            `${now.marks} marks in a run of ${Math.round(now.amount)} media frames ` +
            `(recorded ${rec.marks}, tolerance ±${tol.marks})`,
        });
      }
    } else if (rec.kind === 'append') {
      if (Math.abs(rec.amount - now.amount) > tol.appendMs) {
        out.push({
          t: now.t,
          dir,
          aspect: 'sequence',
          text:
            `run of ${Math.round(now.amount)} ms of appended audio ` +
            `(recorded ${Math.round(rec.amount)} ms, tolerance ±${tol.appendMs})`,
        });
      }
    } else if (DECISIONS.has(rec.kind)) {
      compareDecision(rec, now, dir, tol, out);
    } else if (rec.kind === 'session.update') {
      for (const d of jsonDifferences(rec.line!.msg['session'], now.line!.msg['session'], 'session')) {
        out.push({ t: now.t, dir, aspect: 'session', text: `session configuration: ${d}` });
      }
    } else if (rec.line !== null && now.line !== null) {
      for (const d of jsonDifferences(rec.line.msg, now.line.msg))
        out.push({ t: now.t, dir, aspect: 'payload', text: `${rec.kind}: ${d}` });
    }
  }
  return out;
}

/** All audio of a direction as PCM samples at `rateHz`. */
function audioOf(
  lines: readonly RecordingLine[],
  dir: 'twilio_out' | 'model_in',
  modelAudio: 'pcm16' | 'pcmu',
): { pcm: Int16Array; rateHz: number; bytes: Buffer } {
  const chunks: Buffer[] = [];
  for (const l of lines) {
    if (l.dir !== dir) continue;
    const b64 =
      dir === 'twilio_out'
        ? l.msg['event'] === 'media'
          ? (l.msg['media'] as { payload?: unknown } | undefined)?.payload
          : undefined
        : l.msg['type'] === 'input_audio_buffer.append'
          ? l.msg['audio']
          : undefined;
    if (typeof b64 === 'string') chunks.push(Buffer.from(b64, 'base64'));
  }
  const bytes = Buffer.concat(chunks);
  if (dir === 'model_in' && modelAudio === 'pcm16')
    return { pcm: pcm16FromBytes(bytes.subarray(0, bytes.length - (bytes.length % 2))), rateHz: 24_000, bytes };
  return { pcm: decodeMulaw(bytes), rateHz: 8_000, bytes };
}

/** Compares a direction's audio by SNR (see the file header). */
export function compareAudio(
  recorded: readonly RecordingLine[],
  replayed: readonly RecordingLine[],
  dir: 'twilio_out' | 'model_in',
  modelAudio: 'pcm16' | 'pcmu',
  tol: ReplayTolerances,
): { comparison: AudioComparison; differences: Difference[] } {
  const a = audioOf(recorded, dir, modelAudio);
  const b = audioOf(replayed, dir, modelAudio);
  const recordedMs = (a.pcm.length / a.rateHz) * 1000;
  const replayedMs = (b.pcm.length / b.rateHz) * 1000;
  // Identical over the overlap: a stretch more or less at the end is judged by length below
  // (a caller frame still waiting for its append partner at hang-up, say). Silence against
  // silence is identical too, where an SNR would be 0 / 0.
  const overlap = Math.min(a.bytes.length, b.bytes.length);
  const identical = a.bytes.subarray(0, overlap).equals(b.bytes.subarray(0, overlap));
  const comparison: AudioComparison = { dir, recordedMs, replayedMs, snrDb: null, lagMs: 0, identical };
  if (a.pcm.length === 0 && b.pcm.length === 0) return { comparison, differences: [] };
  const differences: Difference[] = [];
  if (identical) {
    comparison.snrDb = Infinity;
  } else {
    const result = snrDb(a.pcm, b.pcm, { maxLagSamples: Math.round((tol.maxLagMs / 1000) * a.rateHz) });
    comparison.snrDb = result.snrDb;
    comparison.lagMs = (result.lagSamples / a.rateHz) * 1000;
    if (!(result.snrDb >= tol.minSnrDb)) {
      differences.push({
        t: 0,
        dir,
        aspect: 'audio',
        text:
          `audio SNR ${result.snrDb.toFixed(1)} dB against the recording ` +
          `(lag ${comparison.lagMs.toFixed(1)} ms, gain ${result.gain.toFixed(2)}; needs ≥ ${tol.minSnrDb} dB)`,
      });
    }
  }
  // Lengths: a lost or extra stretch of audio does not lower the SNR of the overlap.
  const slackMs = dir === 'twilio_out' ? tol.mediaFrames * 20 : tol.appendMs;
  if (Math.abs(recordedMs - replayedMs) > slackMs) {
    differences.push({
      t: 0,
      dir,
      aspect: 'audio',
      text:
        `${(replayedMs / 1000).toFixed(2)} s of audio ` +
        `(recorded ${(recordedMs / 1000).toFixed(2)} s, tolerance ±${slackMs} ms)`,
    });
  }
  return { comparison, differences };
}
