/**
 * The stereo WAV and the timeline of a recorded call (SPEC §12), from a recording written
 * here frame by frame in the recorder's format 3: a 440 Hz caller tone, then a 1 kHz
 * assistant answer sent in one burst (so it plays on after it was sent) and cut by a `clear`.
 * Left must carry the caller only, right the assistant only, and the right channel must be
 * silent from the cut on — the queued audio that was never heard is not in the file.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { encodeMulaw } from '../../../src/audio/g711.js';
import { RECORDING_FORMAT } from '../../../src/protocol/recording.js';
import { scanRecording, streamCallWav, wavByteLength } from '../../../src/recording/call-audio.js';
import { buildTimeline } from '../../../src/recording/timeline.js';
import { tempDir } from '../../support/tmp.js';

const RATE = 8000;
const FRAME = 160;

function tone(hz: number, samples: number, from: number): Uint8Array {
  const pcm = new Int16Array(samples);
  for (let i = 0; i < samples; i++) pcm[i] = Math.round(12000 * Math.sin((2 * Math.PI * hz * (from + i)) / RATE));
  return encodeMulaw(pcm);
}

/** RMS of a stereo PCM16 range [fromMs, toMs) of one channel. */
function rms(pcm: Int16Array, channel: 0 | 1, fromMs: number, toMs: number): number {
  let sum = 0;
  let n = 0;
  for (let i = Math.round(fromMs * 8); i < Math.round(toMs * 8); i++) {
    const v = pcm[i * 2 + channel]!;
    sum += v * v;
    n++;
  }
  return Math.sqrt(sum / n);
}

/** Energy at `hz` (Goertzel, normalised) in one channel's range. */
function energyAt(pcm: Int16Array, channel: 0 | 1, hz: number, fromMs: number, toMs: number): number {
  const w = (2 * Math.PI * hz) / RATE;
  let s1 = 0;
  let s2 = 0;
  const a = Math.round(fromMs * 8);
  const b = Math.round(toMs * 8);
  for (let i = a; i < b; i++) {
    const s0 = pcm[i * 2 + channel]! + 2 * Math.cos(w) * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return Math.sqrt(s1 * s1 + s2 * s2 - 2 * Math.cos(w) * s1 * s2) / (b - a);
}

function writeRecording(dir: string): string {
  const callSid = 'CAtones';
  const lines: string[] = [
    JSON.stringify({
      type: 'header',
      format: RECORDING_FORMAT,
      version: 3,
      callSid,
      profile: '+15551230001',
      dialect: 'ga',
      startedAt: '2026-12-01T10:00:00.000Z',
      tracks: {
        twilio_in: { file: `${callSid}.twilio_in.ulaw`, encoding: 'mulaw', sampleRate: RATE },
        twilio_out: { file: `${callSid}.twilio_out.ulaw`, encoding: 'mulaw', sampleRate: RATE },
      },
    }),
  ];
  const caller: Uint8Array[] = [];
  const assistant: Uint8Array[] = [];
  // the caller speaks 0–1000 ms (frames stamped by Twilio's clock, arriving 30 ms later)
  for (let f = 0; f < 50; f++) {
    caller.push(tone(440, FRAME, f * FRAME));
    lines.push(
      JSON.stringify({
        t: 30 + f * 20,
        dir: 'twilio_in',
        audio: FRAME,
        msg: { event: 'media', media: { timestamp: String(f * 20), payload: '' } },
      }),
    );
  }
  lines.push(JSON.stringify({ t: 1000, dir: 'model_out', msg: { type: 'input_audio_buffer.speech_started' } }));
  lines.push(JSON.stringify({ t: 1100, dir: 'model_out', msg: { type: 'input_audio_buffer.speech_stopped' } }));
  lines.push(
    JSON.stringify({
      t: 1150,
      dir: 'model_out',
      msg: { type: 'response.function_call_arguments.done', name: 'lookup', arguments: '{"day":"monday"}' },
    }),
  );
  // the assistant's 3 s answer, all sent at 1500–1600 ms: it plays 1500–4500 ms unless cut
  for (let f = 0; f < 150; f++) {
    assistant.push(tone(1000, FRAME, f * FRAME));
    lines.push(
      JSON.stringify({
        t: 1500 + Math.floor(f / 15) * 10,
        dir: 'twilio_out',
        audio: FRAME,
        msg: { event: 'media', media: { payload: '' } },
      }),
    );
  }
  // the caller barges in at 2500 ms: the rest of the answer was never heard
  lines.push(JSON.stringify({ t: 2500, dir: 'twilio_out', msg: { event: 'clear' } }));
  lines.push(JSON.stringify({ t: 4000, dir: 'twilio_in', msg: { event: 'stop' } }));
  writeFileSync(path.join(dir, `${callSid}.twilio_in.ulaw`), Buffer.concat(caller));
  writeFileSync(path.join(dir, `${callSid}.twilio_out.ulaw`), Buffer.concat(assistant));
  const file = path.join(dir, `${callSid}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('recording.wav from a recording', () => {
  it('puts the caller left, the assistant as heard right, and silence after the barge-in cut', async () => {
    const scan = await scanRecording(writeRecording(tempDir()));
    if (!scan.ok) throw new Error(scan.reason);
    const chunks: Buffer[] = [];
    for await (const chunk of streamCallWav(scan.plan)) chunks.push(chunk);
    const wav = Buffer.concat(chunks);
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.readUInt16LE(22)).toBe(2); // stereo
    expect(wav.readUInt32LE(24)).toBe(RATE);
    expect(wav.readUInt16LE(34)).toBe(16);
    expect(wav.readUInt32LE(40)).toBe(wav.length - 44);
    expect(scan.plan.durationMs).toBe(4000);
    expect((wav.length - 44) / 4 / RATE).toBeCloseTo(4, 3);
    const pcm = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length));

    // caller tone on the left only, where Twilio's timestamps put it (0–1000 ms on the call clock + 30 ms arrival)
    expect(energyAt(pcm, 0, 440, 100, 900)).toBeGreaterThan(3000);
    expect(rms(pcm, 1, 100, 900)).toBe(0);
    // assistant tone on the right only, from when it was sent
    expect(energyAt(pcm, 1, 1000, 1600, 2400)).toBeGreaterThan(3000);
    expect(rms(pcm, 0, 1600, 2400)).toBe(0);
    expect(rms(pcm, 1, 1300, 1490)).toBe(0);
    // the cut: nothing on the right from the clear on, though 2 s more had been sent
    expect(rms(pcm, 1, 2500, 4000)).toBe(0);
    expect(rms(pcm, 1, 2400, 2499)).toBeGreaterThan(1000);
  });

  it('streams any byte range of the file exactly as the whole file has it (players seek with Range)', async () => {
    const scan = await scanRecording(writeRecording(tempDir()));
    if (!scan.ok) throw new Error(scan.reason);
    const whole: Buffer[] = [];
    for await (const chunk of streamCallWav(scan.plan)) whole.push(chunk);
    const wav = Buffer.concat(whole);
    expect(wav.length).toBe(wavByteLength(scan.plan));
    for (const [start, end] of [
      [0, 10],
      [40, 47],
      [45, 32_049],
      [64_001, wav.length - 1],
    ] as const) {
      const part: Buffer[] = [];
      for await (const chunk of streamCallWav(scan.plan, start, end)) part.push(chunk);
      expect(Buffer.concat(part).equals(wav.subarray(start, end + 1)), `bytes ${start}-${end}`).toBe(true);
    }
  });

  it('gives a timeline with the lanes, the barge-in, the tool call and the answer latency', async () => {
    const scan = await scanRecording(writeRecording(tempDir()));
    if (!scan.ok) throw new Error(scan.reason);
    const t = await buildTimeline(scan.plan);
    expect(t.caller).toEqual([{ startMs: 1000, endMs: 1100 }]);
    expect(t.assistant).toEqual([{ startMs: 1500, endMs: 2500 }]);
    expect(t.bargeIns).toEqual([{ atMs: 2500 }]);
    expect(t.tools).toEqual([{ atMs: 1150, name: 'lookup', arguments: '{"day":"monday"}' }]);
    expect(t.latencies).toEqual([{ fromMs: 1100, atMs: 1500, latencyMs: 400, afterCallerTurn: true }]);
    expect(t.waveform.caller).toHaveLength(4000 / t.waveform.bucketMs);
    expect(t.waveform.caller[5]).toBeGreaterThan(0.2);
    expect(t.waveform.assistant[5]).toBe(0);
    expect(t.waveform.assistant[2600 / t.waveform.bucketMs]).toBe(0);
  });
});
