/**
 * Recorded calls as test cases (SPEC §7, STYLE §2.9): every `test/fixtures/calls/*.jsonl`
 * becomes one vitest case that replays it through the current bridge code on a virtual
 * clock and fails with the replay report when anything differs beyond tolerance.
 *
 * Fixtures are read, never written: re-recording is `npm run record-fixtures`.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

import { expect, it } from 'vitest';

import type { Recording } from '../../src/protocol/recording.js';
import { readRecording } from '../../src/recording/recording-file.js';
import { formatReport, replayRecording, type ReplayOptions, type ReplayReport } from '../../src/recording/replayer.js';

export const CALL_FIXTURES_DIR = path.join(import.meta.dirname, '../fixtures/calls');

/** The fixture files, sorted by name. */
export function callFixtures(dir = CALL_FIXTURES_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Reads and parses a recording; throws with the parse reason. */
export function loadRecording(file: string): Recording {
  const parsed = readRecording(file);
  if (!parsed.ok) throw new Error(`${path.basename(file)}: ${parsed.reason}`);
  return parsed.recording;
}

/** Replays a fixture; the report's text is attached to any failure. */
export async function replayFixture(file: string, options: ReplayOptions = {}): Promise<ReplayReport> {
  return replayRecording(loadRecording(file), options);
}

/**
 * Registers one test per fixture: it must replay with no difference beyond tolerance, within
 * `maxWallMs` of wall time (the virtual clock makes a call replay far faster than it lasted).
 */
export function describeRecordedCalls(options: { dir?: string; maxWallMs?: number } = {}): void {
  const maxWallMs = options.maxWallMs ?? 2_000;
  for (const file of callFixtures(options.dir)) {
    const recording = loadRecording(file);
    const name = `${path.basename(file, '.jsonl')}: ${recording.header.scenario?.replace(/^[^:]*:\s*/, '') ?? 'no scenario'}`;
    it(name, async () => {
      const report = await replayRecording(recording);
      expect(report.ok, formatReport(report)).toBe(true);
      expect(report.wallMs, `replay took ${Math.round(report.wallMs)} ms of wall time`).toBeLessThan(maxWallMs);
    });
  }
}
