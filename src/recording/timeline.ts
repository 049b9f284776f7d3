/**
 * The timeline of a recorded call (SPEC §12 `GET /api/calls/:sid/timeline`), all on the call
 * clock in ms: when the caller spoke (the model's VAD), when the assistant was heard (the
 * audio the phone played, cut at barge-ins), the barge-ins, the tool calls, the first-audio
 * latency of every answer, and a peak envelope of each side for the waveform picture.
 */
import { openStereoReader, type CallAudioPlan } from './call-audio.js';

/** One waveform value per this many ms (a ten-minute call: 12,000 values a side). */
export const WAVEFORM_BUCKET_MS = 50;
/** Assistant audio with a gap shorter than this is one segment (frames arrive in bursts). */
const SEGMENT_GAP_MS = 120;

export interface Segment {
  startMs: number;
  endMs: number;
}

export interface Timeline {
  callSid: string;
  startedAt: string | null;
  durationMs: number;
  caller: Segment[];
  assistant: Segment[];
  bargeIns: { atMs: number }[];
  tools: { atMs: number; name: string; arguments: string }[];
  /** each answer: `fromMs` (the caller stopped, or 0 for the greeting) to the first audio heard, `atMs` */
  latencies: { fromMs: number; atMs: number; latencyMs: number; afterCallerTurn: boolean }[];
  waveform: { bucketMs: number; caller: number[]; assistant: number[] };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Caller speech from VAD starts and stops; an open start ends at the call's end. */
function callerSegments(plan: CallAudioPlan): Segment[] {
  const { speechStarted, speechStopped } = plan.facts;
  const out: Segment[] = [];
  let stop = 0;
  for (const start of speechStarted) {
    while (stop < speechStopped.length && speechStopped[stop]! < start) stop++;
    const end = speechStopped[stop] ?? plan.durationMs;
    if (stop < speechStopped.length) stop++;
    out.push({ startMs: round(start), endMs: round(end) });
  }
  return out;
}

function assistantSegments(plan: CallAudioPlan): Segment[] {
  const out: Segment[] = [];
  for (const span of plan.assistant) {
    const startMs = span.atSample / 8;
    const endMs = (span.atSample + span.samples) / 8;
    const last = out.at(-1);
    if (last !== undefined && startMs - last.endMs < SEGMENT_GAP_MS) last.endMs = endMs;
    else out.push({ startMs, endMs });
  }
  return out.map((s) => ({ startMs: round(s.startMs), endMs: round(s.endMs) }));
}

/** The first assistant audio heard after the call's start and after every end of a caller turn. */
function latencies(plan: CallAudioPlan, assistant: Segment[]): Timeline['latencies'] {
  const out: Timeline['latencies'] = [];
  const answerAfter = (fromMs: number, afterCallerTurn: boolean) => {
    const first = assistant.find((s) => s.startMs >= fromMs);
    if (first !== undefined)
      out.push({
        fromMs: round(fromMs),
        atMs: first.startMs,
        latencyMs: round(first.startMs - fromMs),
        afterCallerTurn,
      });
  };
  const firstCaller = plan.facts.speechStarted[0] ?? Infinity;
  if (assistant[0] !== undefined && assistant[0].startMs < firstCaller) answerAfter(0, false);
  for (const stop of plan.facts.speechStopped) answerAfter(stop, true);
  return out;
}

/** Peak per bucket (0..1, two decimals) of both sides, read from the tracks one second at a time. */
async function waveform(plan: CallAudioPlan): Promise<Timeline['waveform']> {
  const bucketSamples = WAVEFORM_BUCKET_MS * 8;
  const buckets = Math.ceil((plan.durationMs * 8) / bucketSamples);
  const caller = new Array<number>(buckets).fill(0);
  const assistant = new Array<number>(buckets).fill(0);
  const reader = await openStereoReader(plan);
  try {
    const block = bucketSamples * 200;
    const total = buckets * bucketSamples;
    for (let from = 0; from < total; from += block) {
      const count = Math.min(block, total - from);
      const pcm = await reader.read(from, count);
      // blocks are whole buckets: one peak per bucket and side, no division per sample
      for (let start = 0; start < count; start += bucketSamples) {
        const end = Math.min(count, start + bucketSamples) * 2;
        let left = 0;
        let right = 0;
        for (let i = start * 2; i < end; i += 2) {
          const l = pcm[i]!;
          const r = pcm[i + 1]!;
          if (l > left) left = l;
          else if (-l > left) left = -l;
          if (r > right) right = r;
          else if (-r > right) right = -r;
        }
        const bucket = (from + start) / bucketSamples;
        caller[bucket] = left;
        assistant[bucket] = right;
      }
    }
  } finally {
    await reader.close();
  }
  const scale = (v: number) => Math.round((v / 32768) * 100) / 100;
  return { bucketMs: WAVEFORM_BUCKET_MS, caller: caller.map(scale), assistant: assistant.map(scale) };
}

/** Builds the timeline of a scanned recording (reads its tracks for the waveform). */
export async function buildTimeline(plan: CallAudioPlan): Promise<Timeline> {
  const assistant = assistantSegments(plan);
  return {
    callSid: plan.callSid,
    startedAt: plan.startedAt,
    durationMs: plan.durationMs,
    caller: callerSegments(plan),
    assistant,
    bargeIns: plan.facts.clears.map((atMs) => ({ atMs: round(atMs) })),
    tools: plan.facts.tools.map((t) => ({ ...t, atMs: round(t.atMs) })),
    latencies: latencies(plan, assistant),
    waveform: await waveform(plan),
  };
}
