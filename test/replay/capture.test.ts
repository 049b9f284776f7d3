/**
 * A Twilio-side capture from a real call (no header, Twilio messages only) drives an
 * in-process bridge and the emulator; the model sees the capture's two caller utterances.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { detectFileKind, parseTwilioCapture, phoneScript } from '../../src/recording/capture.js';
import { replayCapture } from '../../src/recording/capture-replay.js';
import { formatReport, replayRecording } from '../../src/recording/replayer.js';

const CAPTURE = path.join(import.meta.dirname, '../fixtures/captures/twilio-inbound-stream1.jsonl');

describe('Twilio-side capture replay', () => {
  it('reads the capture: 616 frames on the media clock, start and stop', () => {
    const text = readFileSync(CAPTURE, 'utf8');
    expect(detectFileKind(text)).toBe('twilio-capture');
    const parsed = parseTwilioCapture(text);
    if (!parsed.ok) throw new Error(parsed.reason);
    const { capture } = parsed;
    expect(capture).toMatchObject({
      callSid: 'CA3ae75ffe1c5d8847e478556c07d07103',
      streamSid: 'test_stream',
      stopped: true,
      skipped: 0,
    });
    expect(capture.frames).toHaveLength(616);
    const script = phoneScript(capture);
    // frames keep their media time; the ones Twilio never sent (before 135 ms) are not sent
    expect(script.dropFrame(0)).toBe(true);
    expect(script.dropFrame(7)).toBe(false);
    expect(script.callerAudio.subarray(7 * 160, 8 * 160)).toEqual(capture.frames[0]!.payload);
  });

  // ~12.4 s of call at 8× real time (the emulator's VAD runs on the audio clock, so the pace does not change the turns)
  it(
    'the model sees two caller turns, each closed and transcribed; the bridge recording of it replays',
    { timeout: 15_000 },
    async () => {
      const parsed = parseTwilioCapture(readFileSync(CAPTURE, 'utf8'));
      if (!parsed.ok) throw new Error(parsed.reason);
      const report = await replayCapture(parsed.capture, { speed: 8 });
      expect(report.framesSent).toBe(616);
      expect(report.turns).toHaveLength(2);
      for (const turn of report.turns) {
        expect(turn.speechEndMs).not.toBeNull();
        expect(turn.speechEndMs! - turn.speechStartMs).toBeGreaterThan(1_000);
        expect(turn.transcript).toMatch(/caller speech/);
      }
      // the utterances are at ~4.2 s and ~8.5 s of the capture (its audio clock starts at 135 ms)
      expect(report.turns[0]!.speechStartMs + report.firstFrameMs).toBeGreaterThan(3_500);
      expect(report.turns[1]!.speechStartMs + report.firstFrameMs).toBeGreaterThan(7_500);
      // The bridge's own recording of the call replays with the same decisions. (It ran at 8×
      // real time, where one recorded ms is 8 ms of audio, so timings and audio_end_ms are
      // not held to the usual tolerances here; at --speed 1 a capture's recording replays
      // exactly, and the fixtures test holds real-time recordings to them.)
      const replay = await replayRecording(report.recording);
      expect(replay.problems).toEqual([]);
      expect(replay.outcome).toBe('caller_hung_up');
      const decisions = replay.differences.filter(
        (d) => d.aspect === 'barge-in' && /^(missing|unexpected) /.test(d.text),
      );
      expect(decisions, formatReport(replay)).toEqual([]);
    },
  );
});
