/**
 * Every recorded call in test/fixtures/calls replays through the current bridge code with
 * no regression (SPEC §7), and a replay catches one when there is.
 */
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { formatReport, replayRecording } from '../../src/recording/replayer.js';
import {
  CALL_FIXTURES_DIR,
  callFixtures,
  describeRecordedCalls,
  loadRecording,
  replayFixture,
} from '../support/recorded-calls.js';

describe('recorded calls replay green', () => {
  it('the corpus covers the six scenarios of issue 6', () => {
    const names = callFixtures().map((f) => path.basename(f, '.jsonl'));
    expect(names).toEqual(
      expect.arrayContaining([
        'greeting-two-turns',
        'barge-in-mid-answer',
        'barge-in-after-send',
        'dtmf',
        'hang-up-tool',
        'model-drop-recovery',
        'http-tool',
      ]),
    );
    for (const file of callFixtures()) expect(loadRecording(file).header.scenario, file).toMatch(/^[a-z-]+: .{20,}/);
  });

  describeRecordedCalls();
});

describe('replay catches regressions', () => {
  it('a tool call replays from the recording alone; a different recorded result fails, naming the output', async () => {
    const file = path.join(CALL_FIXTURES_DIR, 'http-tool.jsonl');
    const green = await replayFixture(file);
    expect(green.ok, formatReport(green)).toBe(true);
    // the backend's URL is on the recording only as the tool's declaration: nothing listens there now
    const replayedCalls = green.replayed.filter((l) => l.dir === 'model_in' && l.msg['type'] === 'tool.call');
    expect(replayedCalls.map((l) => l.msg)).toEqual([
      {
        type: 'tool.call',
        call_id: 'call_lookup_1',
        name: 'lookup_appointment',
        arguments: { date_of_birth: '1980-01-02' },
      },
    ]);

    const recording = loadRecording(file);
    const result = recording.lines.find((l) => l.dir === 'model_out' && l.msg['type'] === 'tool.result')!;
    result.msg['output'] = '{"appointment":"2026-12-10T15:00","dentist":"Dr. Rivera"}';
    const changed = await replayRecording(recording);
    expect(changed.ok).toBe(false);
    const text = changed.differences.map((d) => `${d.dir}: ${d.text}`).join('\n');
    expect(text).toMatch(/model_in: .*conversation\.item\.create/);
    expect(text).toContain('2026-12-10T15:00');
  });

  it('a wrong truncation cushion (injected through the tuning seam) fails, naming the truncate', async () => {
    const report = await replayFixture(path.join(CALL_FIXTURES_DIR, 'barge-in-mid-answer.jsonl'), {
      tuning: { truncationCushionMs: 250 },
    });
    const text = formatReport(report);
    expect(report.ok, text).toBe(false);
    expect(report.differences).toHaveLength(1);
    const [diff] = report.differences;
    expect(diff).toMatchObject({ dir: 'model_in', aspect: 'barge-in' });
    expect(text).toMatch(/^\+\d+ ms model_in: truncate item_\w+ audio_end_ms \d+ \(recorded \d+, tolerance 40\)$/m);
  });

  it('a changed mark interval shows as marks per run; a missing greeting as missing messages and audio', async () => {
    const marks = await replayFixture(path.join(CALL_FIXTURES_DIR, 'greeting-two-turns.jsonl'), {
      tuning: { markIntervalMs: 100 },
    });
    expect(marks.differences.map((d) => d.text).join('\n')).toMatch(
      /marks in a run of \d+ media frames \(recorded \d+, tolerance ±1\)/,
    );
    const recording = loadRecording(path.join(CALL_FIXTURES_DIR, 'greeting-two-turns.jsonl'));
    recording.header.profileConfig!.greeting = null;
    const greetingless = await replayRecording(recording);
    const text = greetingless.differences.map((d) => `${d.dir}: ${d.text}`).join('\n');
    expect(text).toMatch(/model_in: missing response\.create/);
    expect(text).toMatch(/twilio_out: audio SNR/);
    // the model's answers to the greeting were held back: the bridge never asked for it
    expect(greetingless.model.withheld).toBeGreaterThan(0);
  });

  it('a bridge that now asks later gets its answers later, keeping the recorded gaps', async () => {
    const file = path.join(CALL_FIXTURES_DIR, 'dtmf.jsonl');
    const recorded = loadRecording(file).lines;
    const report = await replayFixture(file, { tuning: { dtmfDebounceMs: 1_500 } });
    const at = (lines: typeof recorded, dir: string, type: string) =>
      lines.find((l) => l.dir === dir && l.msg['type'] === type)!.t;
    const askedLater = at(report.replayed, 'model_in', 'response.create') - at(recorded, 'model_in', 'response.create');
    expect(askedLater).toBeCloseTo(300, 0);
    expect(
      at(report.replayed, 'model_out', 'response.created') - at(recorded, 'model_out', 'response.created'),
    ).toBeCloseTo(askedLater, 0);
    expect(report.model.delayed).toBeGreaterThan(0);
    expect(report.model.withheld).toBe(0);
  });
});
