/**
 * `npm run bench -- audio`: cost and quality of the audio path, per direction, for
 *
 * - ours: src/audio/transcoder.ts with `pcm16` (72-tap polyphase FIR + lookup-table G.711);
 * - naive: alawmulaw + wave-resampler called per chunk (bench/naive.ts), the comparison column;
 * - passthrough: `pcmu` (no codec, no resampling; re-framing only).
 *
 * Cost is measured the way the bridge spends it, wire to wire: Twilio `media` JSON in →
 * `input_audio_buffer.append` JSON out, and `response.output_audio.delta` JSON in → Twilio
 * `media` JSON frames of 160 bytes out (JSON.parse, base64 both ways, transcoding,
 * JSON.stringify). CPU time from `process.cpuUsage()` (user + system), median of the runs.
 *
 * Quality follows dsp.md "Method": analytic signals, SNR after the best delay + gain fit,
 * alias tones, chunked as a bridge chunks (20 ms frames in; random 50–400 ms deltas with odd
 * byte counts out). Writes bench/results/audio-<date>.json and prints a markdown report.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { TWILIO_FRAME_BYTES } from '../src/audio/framer.js';
import { decodeMulaw, encodeMulaw } from '../src/audio/g711.js';
import { fitTones, sineFit } from '../src/audio/measure.js';
import { Downsampler24kTo8k, RESAMPLER_DELAY_MS, Upsampler8kTo24k } from '../src/audio/resampler.js';
import {
  concatInt16,
  highBandTones,
  renderTones,
  seededRandom,
  speechShapedTones,
  toInt16Samples,
  type Tone,
} from '../src/audio/signals.js';
import {
  createCallerToModel,
  createModelToCaller,
  pcm16FromBytes,
  pcm16ToBytes,
  type CallerToModel,
  type ModelToCaller,
} from '../src/audio/transcoder.js';
import { modelAudioBytesPerMs } from '../src/protocol/realtime.js';
import { naiveResampleChunk, NaiveCallerToModel, NaiveModelToCaller } from './naive.js';

type PipelineId = 'ours' | 'naive' | 'passthrough';
type Direction = 'in' | 'out';

interface Pipeline {
  id: PipelineId;
  label: string;
  /** what the model sends and receives */
  modelFormat: 'pcm16' | 'pcmu';
  callerToModel(): CallerToModel;
  modelToCaller(): ModelToCaller;
  /** the resampling stage alone, per chunk, for the resampler-only quality columns */
  upsampler: (() => (chunk: Int16Array) => Int16Array) | null;
  downsampler: (() => (chunk: Int16Array) => Int16Array) | null;
}

const PIPELINES: readonly Pipeline[] = [
  {
    id: 'ours',
    label: 'ours: 72-tap polyphase FIR',
    modelFormat: 'pcm16',
    callerToModel: () => createCallerToModel('pcm16'),
    modelToCaller: () => createModelToCaller('pcm16'),
    upsampler: () => {
      const up = new Upsampler8kTo24k();
      return (chunk) => up.process(chunk);
    },
    downsampler: () => {
      const down = new Downsampler24kTo8k();
      return (chunk) => down.process(chunk);
    },
  },
  {
    id: 'naive',
    label: 'naive: wave-resampler per chunk',
    modelFormat: 'pcm16',
    callerToModel: () => new NaiveCallerToModel(),
    modelToCaller: () => new NaiveModelToCaller(),
    upsampler: () => (chunk) => naiveResampleChunk(chunk, 8000, 24000),
    downsampler: () => (chunk) => naiveResampleChunk(chunk, 24000, 8000),
  },
  {
    id: 'passthrough',
    label: 'μ-law passthrough (pcmu)',
    modelFormat: 'pcmu',
    callerToModel: () => createCallerToModel('pcmu'),
    modelToCaller: () => createModelToCaller('pcmu'),
    upsampler: null,
    downsampler: null,
  },
];

interface BenchOptions {
  runs: number;
  warmups: number;
  audioSeconds: number;
  outDir: string;
  write: boolean;
}

const USAGE = 'usage: npm run bench -- audio [--runs N (≥ 5, default 7)] [--seconds S (default 20)] [--no-write]\n';

function parseOptions(args: readonly string[]): BenchOptions | string {
  const options: BenchOptions = { runs: 7, warmups: 2, audioSeconds: 20, outDir: 'bench/results', write: true };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = Number(args[i + 1]);
    if (arg === '--runs' && Number.isInteger(value) && value >= 5) {
      options.runs = value;
      i++;
    } else if (arg === '--seconds' && value >= 1) {
      options.audioSeconds = value;
      i++;
    } else if (arg === '--no-write') {
      options.write = false;
    } else {
      return `unknown or invalid argument: ${String(arg)}\n${USAGE}`;
    }
  }
  return options;
}

// ---------------------------------------------------------------------------------------
// Wire messages, built once, shared by all pipelines.

const STREAM_SID = 'MZ00000000000000000000000000000000';

interface WireLoad {
  /** Twilio `media` messages, 20 ms each */
  twilioMedia: string[];
  /** `response.output_audio.delta` messages per model format, 50–400 ms each, odd byte counts included */
  deltas: Record<'pcm16' | 'pcmu', string[]>;
}

function buildWireLoad(audioSeconds: number): WireLoad {
  const speech = speechShapedTones(101);
  const mulaw8k = encodeMulaw(renderTones(speech, 8000, audioSeconds * 8000));
  const twilioMedia: string[] = [];
  for (let i = 0, seq = 1; i < mulaw8k.length; i += TWILIO_FRAME_BYTES, seq++) {
    const payload = Buffer.from(mulaw8k.subarray(i, i + TWILIO_FRAME_BYTES)).toString('base64');
    // Twilio's full inbound shape (PROTOCOLS §2.5), so JSON.parse pays for every field
    twilioMedia.push(
      JSON.stringify({
        event: 'media',
        sequenceNumber: String(seq + 1),
        streamSid: STREAM_SID,
        media: { track: 'inbound', chunk: String(seq), timestamp: String((seq - 1) * 20), payload },
      }),
    );
  }
  const pcm24kBytes = pcm16ToBytes(toInt16Samples(renderTones(speech, 24000, audioSeconds * 24000)));
  return {
    twilioMedia,
    deltas: {
      pcm16: deltaMessages(pcm24kBytes, 48, 7),
      pcmu: deltaMessages(Buffer.from(mulaw8k), 8, 8),
    },
  };
}

/** Cuts `bytes` into deltas of 50–400 ms (any byte count, so PCM16 samples get split). */
function deltaMessages(bytes: Buffer, bytesPerMs: number, seed: number): string[] {
  const random = seededRandom(seed);
  const messages: string[] = [];
  for (let offset = 0, n = 0; offset < bytes.length; n++) {
    const size = Math.floor((50 + random() * 350) * bytesPerMs) + (random() < 0.5 ? 1 : 0);
    messages.push(
      JSON.stringify({
        type: 'response.output_audio.delta',
        event_id: `event_${n}`,
        response_id: 'resp_1',
        item_id: 'item_1',
        output_index: 0,
        content_index: 0,
        delta: bytes.subarray(offset, offset + size).toString('base64'),
      }),
    );
    offset += size;
  }
  return messages;
}

/** Caller → model as the bridge does it; returns bytes produced (so nothing is optimised away). */
function runIn(stream: CallerToModel, messages: readonly string[]): number {
  let sink = 0;
  for (const line of messages) {
    const message = JSON.parse(line) as { media: { payload: string } };
    const audio = stream.push(Buffer.from(message.media.payload, 'base64'));
    sink += JSON.stringify({ type: 'input_audio_buffer.append', audio: audio.toString('base64') }).length;
  }
  return sink;
}

/** Model → caller as the bridge does it, ending the response with flush(). */
function runOut(stream: ModelToCaller, messages: readonly string[]): number {
  let sink = 0;
  const send = (frames: Buffer[]): void => {
    for (const frame of frames) {
      sink += JSON.stringify({
        event: 'media',
        streamSid: STREAM_SID,
        media: { payload: frame.toString('base64') },
      }).length;
    }
  };
  for (const line of messages) {
    const message = JSON.parse(line) as { delta: string };
    send(stream.push(Buffer.from(message.delta, 'base64')));
  }
  send(stream.flush());
  return sink;
}

function cpuAndWall(fn: () => number): { cpuMs: number; wallMs: number } {
  const wall0 = performance.now();
  const cpu0 = process.cpuUsage();
  const sink = fn();
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - wall0;
  if (sink <= 0) throw new Error('pipeline produced nothing');
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

interface CostResult {
  cpuMsPerRun: number[];
  wallMsPerRun: number[];
  /** median CPU ms per second of audio */
  cpuMsPerAudioSecond: number;
  /** CPU ns per 8 kHz sample (one μ-law byte on the Twilio side) */
  nsPerSample: number;
  /** audio seconds processed per CPU second */
  timesRealTime: number;
}

function measureCost(load: WireLoad, options: BenchOptions): Record<PipelineId, Record<Direction, CostResult>> {
  const samples = new Map<string, { cpu: number[]; wall: number[] }>();
  for (let run = 0; run < options.warmups + options.runs; run++) {
    // round-robin so that machine noise spreads over every pipeline alike
    for (const pipeline of PIPELINES) {
      for (const direction of ['in', 'out'] as const) {
        const t =
          direction === 'in'
            ? cpuAndWall(() => runIn(pipeline.callerToModel(), load.twilioMedia))
            : cpuAndWall(() => runOut(pipeline.modelToCaller(), load.deltas[pipeline.modelFormat]));
        if (run < options.warmups) continue;
        const key = `${pipeline.id}/${direction}`;
        const entry = samples.get(key) ?? { cpu: [], wall: [] };
        entry.cpu.push(t.cpuMs);
        entry.wall.push(t.wallMs);
        samples.set(key, entry);
      }
    }
  }
  const result = {} as Record<PipelineId, Record<Direction, CostResult>>;
  for (const pipeline of PIPELINES) {
    const perDirection = {} as Record<Direction, CostResult>;
    for (const direction of ['in', 'out'] as const) {
      const entry = samples.get(`${pipeline.id}/${direction}`)!;
      const cpuMsPerAudioSecond = median(entry.cpu) / options.audioSeconds;
      perDirection[direction] = {
        cpuMsPerRun: entry.cpu,
        wallMsPerRun: entry.wall,
        cpuMsPerAudioSecond,
        nsPerSample: (cpuMsPerAudioSecond * 1e6) / 8000,
        timesRealTime: 1000 / cpuMsPerAudioSecond,
      };
    }
    result[pipeline.id] = perDirection;
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// Quality, measured once per pipeline and direction (deterministic).

interface QualityResult {
  /** resampling stage alone (int16 in, int16 out) against the analytic ideal; null = no resampler */
  resamplerSnrDb: number | null;
  /** through the whole direction including G.711, against the analytic ideal */
  endToEndSnrDb: number;
  /** worst image (in) or alias (out) rejection, dB, chunked as the bridge chunks; null = no resampler */
  worstRejectionDb: number | null;
  /** the same with the whole signal in one call (the filter alone, without chunking damage) */
  worstRejectionWholeDb: number | null;
  /** out only: rejection of a 5 kHz and a 7 kHz tone at 24 kHz, chunked */
  alias5kDb: number | null;
  alias7kDb: number | null;
  /** max |gain| over 300–3400 Hz in 100 Hz steps, dB, chunked */
  passbandDeviationDb: number | null;
  /** the same with the whole signal in one call */
  passbandDeviationWholeDb: number | null;
  /** fitted delay of speech through the resampler, ms */
  groupDelayMs: number | null;
  /** chunked output identical to one call on the whole stream, through the whole direction */
  chunkInvariant: boolean;
  /** share of output samples that differ between chunked and whole, % */
  chunkDifferencePercent: number;
  /** output duration minus input duration after 60 s of chunks, ms (negative = lost audio) */
  countErrorMsPerMinute: number;
}

const SPEECH = speechShapedTones(1);
const HIGH_BAND = highBandTones(2);
const db = (ratio: number): number => 20 * Math.log10(ratio);

const concat = concatInt16;

function splitSizes(seed: number, min: number, max: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: 256 }, () => min + Math.floor(random() * (max - min + 1)));
}

function applyChunked(
  stage: (chunk: Int16Array) => Int16Array,
  input: Int16Array,
  sizes: readonly number[],
): Int16Array {
  const parts: Int16Array[] = [];
  for (let offset = 0, i = 0; offset < input.length; i++) {
    const size = sizes[i % sizes.length]!;
    parts.push(stage(input.subarray(offset, offset + size)));
    offset += size;
  }
  return concat(parts);
}

const FRAME_SIZES = [160];
const DELTA_SAMPLES = splitSizes(3, 1200, 9600); // 50–400 ms at 24 kHz
const DELTA_BYTES = splitSizes(4, 2400, 19201); // the same in bytes, any parity

/** Fit with a ±3 ms delay search: wide enough for the naive pipeline's acausal chunks. */
function speechFit(
  tones: readonly Tone[],
  output: ArrayLike<number>,
  rateHz: number,
): { snrDb: number; delayMs: number } {
  const fit = fitTones(tones, output, rateHz, {
    start: Math.round(0.1 * rateHz),
    length: Math.round(1.8 * rateHz),
    delayGuessSeconds: RESAMPLER_DELAY_MS / 1000,
    delaySearchSeconds: 0.003,
  });
  return { snrDb: fit.snrDb, delayMs: fit.delaySeconds * 1000 };
}

/** One call over the whole signal. */
const WHOLE = [Number.MAX_SAFE_INTEGER];

interface ToneSweep {
  worstRejectionDb: number;
  passbandDeviationDb: number;
  alias5kDb: number | null;
  alias7kDb: number | null;
}

/**
 * Up: tones 300–3400 Hz in 100 Hz steps, 1.2 s each. Rejection = tone over everything that is
 * not the tone (images, clicks, rounding), from a sine fit over 1 s; gain from the same fit.
 */
function sweepUp(makeStage: () => (chunk: Int16Array) => Int16Array, sizes: readonly number[]): ToneSweep {
  let worstRejectionDb = Infinity;
  let passbandDeviationDb = 0;
  for (let f = 300; f <= 3400; f += 100) {
    const tone = [{ frequencyHz: f, amplitude: 16384, phaseRad: 0.5 }];
    const output = applyChunked(makeStage(), toInt16Samples(renderTones(tone, 8000, 9600)), sizes);
    const fit = sineFit(output, f, 24000, 2400, 24000);
    worstRejectionDb = Math.min(worstRejectionDb, -db(fit.residualRms / (fit.amplitude / Math.SQRT2)));
    passbandDeviationDb = Math.max(passbandDeviationDb, Math.abs(db(fit.amplitude / 16384)));
  }
  return { worstRejectionDb, passbandDeviationDb, alias5kDb: null, alias7kDb: null };
}

/**
 * Down: tones 4.6–11.95 kHz in 50 Hz steps (everything in the output is alias: its RMS over
 * the input RMS), and passband tones 300–3400 Hz in 100 Hz steps (gain from a 1 s sine fit).
 */
function sweepDown(makeStage: () => (chunk: Int16Array) => Int16Array, sizes: readonly number[]): ToneSweep {
  const aliasRejection = (f: number): number => {
    const tone = [{ frequencyHz: f, amplitude: 16384, phaseRad: 0.5 }];
    const output = applyChunked(makeStage(), toInt16Samples(renderTones(tone, 24000, 14400)), sizes);
    let energy = 0;
    for (let n = 400; n < 4400; n++) energy += output[n]! * output[n]!;
    return -db(Math.sqrt(energy / 4000) / (16384 / Math.SQRT2));
  };
  let worstRejectionDb = Infinity;
  for (let f = 4600; f <= 11950; f += 50) worstRejectionDb = Math.min(worstRejectionDb, aliasRejection(f));
  let passbandDeviationDb = 0;
  for (let f = 300; f <= 3400; f += 100) {
    const tone = [{ frequencyHz: f, amplitude: 16384, phaseRad: 0.5 }];
    const output = applyChunked(makeStage(), toInt16Samples(renderTones(tone, 24000, 28800)), sizes);
    passbandDeviationDb = Math.max(
      passbandDeviationDb,
      Math.abs(db(sineFit(output, f, 8000, 800, 8000).amplitude / 16384)),
    );
  }
  return { worstRejectionDb, passbandDeviationDb, alias5kDb: aliasRejection(5000), alias7kDb: aliasRejection(7000) };
}

function measureQuality(pipeline: Pipeline, direction: Direction): QualityResult {
  return direction === 'in' ? qualityIn(pipeline) : qualityOut(pipeline);
}

function qualityIn(pipeline: Pipeline): QualityResult {
  let resamplerSnrDb: number | null = null;
  let groupDelayMs: number | null = null;
  let chunked: ToneSweep | null = null;
  let whole: ToneSweep | null = null;
  if (pipeline.upsampler !== null) {
    const makeStage = pipeline.upsampler;
    const speech = speechFit(
      SPEECH,
      applyChunked(makeStage(), toInt16Samples(renderTones(SPEECH, 8000, 16000)), FRAME_SIZES),
      24000,
    );
    resamplerSnrDb = speech.snrDb;
    groupDelayMs = speech.delayMs;
    chunked = sweepUp(makeStage, FRAME_SIZES);
    whole = sweepUp(makeStage, WHOLE);
  }
  // end to end: μ-law from Twilio → what the model receives
  const mulaw = encodeMulaw(renderTones(SPEECH, 8000, 16000));
  const received = (frames: readonly Uint8Array[], stream: CallerToModel): Buffer =>
    Buffer.concat(frames.map((frame) => Buffer.from(stream.push(frame))));
  const frames: Uint8Array[] = [];
  for (let i = 0; i < mulaw.length; i += 160) frames.push(mulaw.subarray(i, i + 160));
  const chunkedBytes = received(frames, pipeline.callerToModel());
  const wholeBytes = received([mulaw], pipeline.callerToModel());
  const endToEndSnrDb =
    pipeline.modelFormat === 'pcmu'
      ? speechFit(SPEECH, decodeMulaw(chunkedBytes), 8000).snrDb
      : speechFit(SPEECH, pcm16FromBytes(chunkedBytes), 24000).snrDb;
  // count: 60 s of frames
  const stream = pipeline.callerToModel();
  const frame = new Uint8Array(160).fill(0xff);
  let outBytes = 0;
  for (let i = 0; i < 3000; i++) outBytes += stream.push(frame).length;
  const bytesPerMs = modelAudioBytesPerMs(pipeline.modelFormat);
  return {
    resamplerSnrDb,
    endToEndSnrDb,
    worstRejectionDb: chunked?.worstRejectionDb ?? null,
    worstRejectionWholeDb: whole?.worstRejectionDb ?? null,
    alias5kDb: null,
    alias7kDb: null,
    passbandDeviationDb: chunked?.passbandDeviationDb ?? null,
    passbandDeviationWholeDb: whole?.passbandDeviationDb ?? null,
    groupDelayMs,
    ...invariance(chunkedBytes, wholeBytes, pipeline.modelFormat === 'pcmu' ? 1 : 2),
    countErrorMsPerMinute: outBytes / bytesPerMs - 60_000,
  };
}

function qualityOut(pipeline: Pipeline): QualityResult {
  let resamplerSnrDb: number | null = null;
  let groupDelayMs: number | null = null;
  let chunked: ToneSweep | null = null;
  let whole: ToneSweep | null = null;
  if (pipeline.downsampler !== null) {
    const makeStage = pipeline.downsampler;
    const input = toInt16Samples(renderTones([...SPEECH, ...HIGH_BAND], 24000, 48000));
    // the ideal is the in-band part only: aliased high-band content counts as error
    const speech = speechFit(SPEECH, applyChunked(makeStage(), input, DELTA_SAMPLES), 8000);
    resamplerSnrDb = speech.snrDb;
    groupDelayMs = speech.delayMs;
    chunked = sweepDown(makeStage, DELTA_SAMPLES);
    whole = sweepDown(makeStage, WHOLE);
  }
  // end to end: model bytes in odd-sized deltas → what the caller hears
  const modelBytes =
    pipeline.modelFormat === 'pcmu'
      ? Buffer.from(encodeMulaw(renderTones(SPEECH, 8000, 16000)))
      : pcm16ToBytes(toInt16Samples(renderTones([...SPEECH, ...HIGH_BAND], 24000, 48000)));
  const heard = (sizes: readonly number[]): Buffer => {
    const stream = pipeline.modelToCaller();
    const frames: Buffer[] = [];
    for (let offset = 0, i = 0; offset < modelBytes.length; i++) {
      const size = sizes[i % sizes.length]!;
      frames.push(...stream.push(modelBytes.subarray(offset, offset + size)));
      offset += size;
    }
    frames.push(...stream.flush());
    return Buffer.concat(frames);
  };
  const deltaSizes = pipeline.modelFormat === 'pcmu' ? DELTA_BYTES.map((n) => Math.ceil(n / 6)) : DELTA_BYTES;
  const chunkedBytes = heard(deltaSizes);
  const wholeBytes = heard([modelBytes.length]);
  const endToEndSnrDb = speechFit(SPEECH, decodeMulaw(chunkedBytes), 8000).snrDb;
  // count: 60 s of deltas; μ-law samples out (sent + pending) against the exact duration
  const stream = pipeline.modelToCaller();
  const bytesPerMs = modelAudioBytesPerMs(pipeline.modelFormat);
  const silence = Buffer.alloc(60_000 * bytesPerMs, pipeline.modelFormat === 'pcmu' ? 0xff : 0);
  let sentBytes = 0;
  for (let offset = 0, i = 0; offset < silence.length; i++) {
    const size = deltaSizes[i % deltaSizes.length]!;
    sentBytes += stream.push(silence.subarray(offset, offset + size)).length * TWILIO_FRAME_BYTES;
    offset += size;
  }
  const heardMs = (sentBytes + stream.pendingBytes) / 8;
  return {
    resamplerSnrDb,
    endToEndSnrDb,
    worstRejectionDb: chunked?.worstRejectionDb ?? null,
    worstRejectionWholeDb: whole?.worstRejectionDb ?? null,
    alias5kDb: chunked?.alias5kDb ?? null,
    alias7kDb: chunked?.alias7kDb ?? null,
    passbandDeviationDb: chunked?.passbandDeviationDb ?? null,
    passbandDeviationWholeDb: whole?.passbandDeviationDb ?? null,
    groupDelayMs,
    ...invariance(chunkedBytes, wholeBytes, 1),
    countErrorMsPerMinute: heardMs - 60_000,
  };
}

function invariance(
  chunked: Buffer,
  whole: Buffer,
  bytesPerSample: number,
): Pick<QualityResult, 'chunkInvariant' | 'chunkDifferencePercent'> {
  const samples = Math.max(chunked.length, whole.length) / bytesPerSample;
  let differing = Math.abs(chunked.length - whole.length) / bytesPerSample;
  const common = Math.min(chunked.length, whole.length);
  for (let i = 0; i < common; i += bytesPerSample) {
    if (chunked[i] !== whole[i] || (bytesPerSample === 2 && chunked[i + 1] !== whole[i + 1])) differing++;
  }
  return { chunkInvariant: differing === 0, chunkDifferencePercent: (100 * differing) / samples };
}

// ---------------------------------------------------------------------------------------
// Report

interface Machine {
  cpuModel: string;
  cores: number;
  node: string;
  os: string;
}

function machine(): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line !== undefined) cpuModel = line.split(':')[1]!.trim();
  } catch {
    // not Linux: keep os.cpus()'s model
  }
  return { cpuModel, cores: cpus().length, node: process.version, os: `${platform()} ${release()}` };
}

const fmt = (value: number | null, digits = 1): string => {
  if (value === null) return 'n/a';
  if (value === Infinity) return '∞';
  return value.toFixed(digits);
};

function renderMarkdown(
  date: string,
  host: Machine,
  options: BenchOptions,
  cost: Record<PipelineId, Record<Direction, CostResult>>,
  quality: Record<PipelineId, Record<Direction, QualityResult>>,
): string {
  const lines: string[] = [];
  lines.push(`## Audio bench, ${date}`, '');
  lines.push(`Machine: ${host.cpuModel}, ${host.cores} cores, Node ${host.node}, ${host.os}. One thread.`);
  lines.push(
    `Cost: ${options.audioSeconds} s of audio per run and direction, wire JSON to wire JSON, ` +
      `median of ${options.runs} runs after ${options.warmups} warm-ups.`,
    '',
  );
  lines.push(
    '| direction | pipeline | ns per sample | × real time | CPU ms per audio-s | resampler speech SNR (dB) ' +
      '| end-to-end SNR incl. G.711 (dB) | worst stopband / image rejection, whole / chunked (dB) ' +
      '| passband deviation 300–3400 Hz, whole / chunked (dB) | group delay (ms) | chunk-invariant ' +
      '| count error (ms per min) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const direction of ['in', 'out'] as const) {
    for (const pipeline of PIPELINES) {
      const c = cost[pipeline.id][direction];
      const q = quality[pipeline.id][direction];
      const rejection =
        q.worstRejectionDb === null
          ? 'n/a'
          : `${fmt(q.worstRejectionWholeDb)} / ${fmt(q.worstRejectionDb)}` +
            (direction === 'out' ? ` (5 kHz ${fmt(q.alias5kDb)}, 7 kHz ${fmt(q.alias7kDb)})` : '');
      const passband =
        q.passbandDeviationDb === null
          ? 'n/a'
          : `${fmt(q.passbandDeviationWholeDb, 3)} / ${fmt(q.passbandDeviationDb, 3)}`;
      const invariant = q.chunkInvariant ? 'yes (0 differ)' : `no (${fmt(q.chunkDifferencePercent)} % differ)`;
      lines.push(
        `| ${direction === 'in' ? 'caller → model' : 'model → caller'} | ${pipeline.label} ` +
          `| ${fmt(c.nsPerSample, 0)} | ${fmt(c.timesRealTime, 0)} | ${fmt(c.cpuMsPerAudioSecond, 3)} ` +
          `| ${fmt(q.resamplerSnrDb)} | ${fmt(q.endToEndSnrDb)} | ${rejection} | ${passband} ` +
          `| ${fmt(q.groupDelayMs, 3)} | ${invariant} | ${fmt(q.countErrorMsPerMinute, 2)} |`,
      );
    }
  }
  lines.push(
    '',
    '| pipeline | caller → model (ms per s) | model → caller (ms per s) ' +
      '| **both directions (CPU ms per call-second)** | calls per core (CPU-bound, no WebSocket) | CPU vs ours |',
    '|---|---|---|---|---|---|',
  );
  const both = (id: PipelineId): number => cost[id].in.cpuMsPerAudioSecond + cost[id].out.cpuMsPerAudioSecond;
  for (const pipeline of PIPELINES) {
    lines.push(
      `| ${pipeline.label} | ${fmt(cost[pipeline.id].in.cpuMsPerAudioSecond, 3)} ` +
        `| ${fmt(cost[pipeline.id].out.cpuMsPerAudioSecond, 3)} | **${fmt(both(pipeline.id), 3)}** ` +
        `| ${fmt(1000 / both(pipeline.id), 0)} | ${fmt(both(pipeline.id) / both('ours'), 2)}× |`,
    );
  }
  const ratio = both('naive') / both('ours');
  lines.push(
    '',
    `Acceptance: ours ${fmt(both('ours'), 3)} ms CPU per call-second ` +
      `(target ≤ 2.5: ${both('ours') <= 2.5 ? 'met' : 'NOT met'}); ` +
      `naive / ours = ${fmt(ratio, 2)}× (target ≥ 4: ${ratio >= 4 ? 'met' : 'NOT met'}).`,
    '',
  );
  return lines.join('\n');
}

/** Runs the audio bench; returns the process exit code. */
export function runAudioBench(args: readonly string[]): number {
  const parsed = parseOptions(args);
  if (typeof parsed === 'string') {
    process.stderr.write(parsed);
    return 2;
  }
  const options = parsed;
  const date = new Date().toISOString().slice(0, 10);
  const host = machine();
  process.stderr.write(`audio bench: building ${options.audioSeconds} s of wire messages…\n`);
  const load = buildWireLoad(options.audioSeconds);
  process.stderr.write(
    `audio bench: timing ${PIPELINES.length} pipelines × 2 directions × ${options.warmups + options.runs} runs…\n`,
  );
  const cost = measureCost(load, options);
  process.stderr.write('audio bench: measuring quality…\n');
  const quality = {} as Record<PipelineId, Record<Direction, QualityResult>>;
  for (const pipeline of PIPELINES) {
    quality[pipeline.id] = { in: measureQuality(pipeline, 'in'), out: measureQuality(pipeline, 'out') };
  }
  const markdown = renderMarkdown(date, host, options, cost, quality);
  process.stdout.write(markdown);
  if (options.write) {
    mkdirSync(options.outDir, { recursive: true });
    const file = `${options.outDir}/audio-${date}.json`;
    const json = {
      date,
      machine: host,
      options,
      pipelines: PIPELINES.map((p) => ({ id: p.id, label: p.label })),
      cost,
      quality,
    };
    writeFileSync(file, `${JSON.stringify(json, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v), 2)}\n`);
    process.stderr.write(`audio bench: wrote ${file}\n`);
  }
  return 0;
}
