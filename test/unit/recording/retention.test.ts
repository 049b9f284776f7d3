/**
 * Recordings have bounds (SPEC §8, issue #14 item 10): past RECORDINGS_RETENTION_DAYS or
 * RECORDINGS_MAX_GB the oldest recordings go, checked at start and hourly on the injected
 * clock; every file whose name starts with a CallSid is one recording; a running call's
 * recording is never touched; recording pauses while the disk is short of space. Real files in
 * a temporary directory, a virtual clock.
 */
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { RecordingsRetention, recordingKey, SWEEP_INTERVAL_MS } from '../../../src/recording/retention.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { LogCapture } from '../../support/log-capture.js';
import { tempDir } from '../../support/tmp.js';

const DAY_MS = 86_400_000;

function setup() {
  const dir = path.join(tempDir(), 'recordings');
  mkdirSync(dir, { recursive: true });
  const clock = new VirtualClock(Date.UTC(2026, 5, 1));
  /** writes a file of `bytes` last modified `ageDays` before the clock's now */
  const file = (name: string, bytes: number, ageDays: number) => {
    const full = path.join(dir, name);
    writeFileSync(full, Buffer.alloc(bytes, 0x61));
    const mtime = (clock.now() - ageDays * DAY_MS) / 1000;
    utimesSync(full, mtime, mtime);
  };
  return { dir, clock, file, logs: new LogCapture() };
}

const CA = (c: string) => `CA${c.repeat(32)}`;

/** Resolves once `predicate` holds, checking after each turn of IO (bounded by the test's timeout). */
async function untilTrue(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve));
}

describe('recordingKey', () => {
  it.each([
    [`${CA('a')}.jsonl`, CA('a')],
    [`${CA('a')}.caller.ulaw`, CA('a')],
    [`${CA('a')}-assistant.pcm`, CA('a')],
    ['.CAx.jsonl.tmp', null],
  ])('%s → %s', (name, key) => expect(recordingKey(name)).toBe(key));
});

describe('RecordingsRetention.sweep', () => {
  it('deletes recordings past the age bound, all files of a call together', async () => {
    const { dir, clock, file, logs } = setup();
    file(`${CA('a')}.jsonl`, 100, 40);
    file(`${CA('a')}.caller.ulaw`, 100, 31);
    file(`${CA('b')}.jsonl`, 100, 29);
    file(`${CA('b')}.assistant.ulaw`, 100, 35); // one old file does not age the call: its newest does
    const retention = new RecordingsRetention({
      dir,
      maxBytes: 1e9,
      maxAgeDays: 30,
      clock,
      logger: logs.logger,
      isLive: () => false,
    });
    const result = await retention.sweep();
    expect(result.deleted).toEqual([CA('a')]);
    expect(readdirSync(dir).sort()).toEqual([`${CA('b')}.assistant.ulaw`, `${CA('b')}.jsonl`]);
    expect(result.keptBytes).toBe(200);
  });

  it('deletes the oldest recordings until the rest fit the size bound; a live call is never touched', async () => {
    const { dir, clock, file, logs } = setup();
    file(`${CA('1')}.jsonl`, 400, 5); // oldest, but live
    file(`${CA('2')}.jsonl`, 400, 4);
    file(`${CA('3')}.jsonl`, 300, 3);
    file(`${CA('3')}.caller.ulaw`, 100, 3);
    file(`${CA('4')}.jsonl`, 400, 1);
    let deletedCount = 0;
    const retention = new RecordingsRetention({
      dir,
      maxBytes: 900,
      maxAgeDays: 30,
      clock,
      logger: logs.logger,
      isLive: (sid) => sid === CA('1'),
      onDeleted: (n) => (deletedCount += n),
    });
    const result = await retention.sweep();
    expect(result.deleted).toEqual([CA('2'), CA('3')]);
    expect(readdirSync(dir).sort()).toEqual([`${CA('1')}.jsonl`, `${CA('4')}.jsonl`]);
    expect(result.keptBytes).toBe(800);
    expect(deletedCount).toBe(2);
  });

  it('runs at start and again every hour of the injected clock', async () => {
    const { dir, clock, file, logs } = setup();
    file(`${CA('a')}.jsonl`, 10, 31);
    const retention = new RecordingsRetention({
      dir,
      maxBytes: 1e9,
      maxAgeDays: 30,
      clock,
      logger: logs.logger,
      isLive: () => false,
      freeBytes: () => Promise.resolve(1e12),
    });
    retention.start();
    await logs.waitFor('old recordings deleted (RECORDINGS_RETENTION_DAYS / RECORDINGS_MAX_GB)');
    expect(existsSync(path.join(dir, `${CA('a')}.jsonl`))).toBe(false);
    // half an hour short of the bound now, past it at the next hourly sweep
    file(`${CA('b')}.jsonl`, 10, 30 - 1 / 48);
    await untilTrue(() => clock.pendingTimers === 2); // the sweep and disk timers are armed again
    clock.advance(SWEEP_INTERVAL_MS - 1);
    expect(existsSync(path.join(dir, `${CA('b')}.jsonl`))).toBe(true);
    clock.advance(1);
    await untilTrue(() => !existsSync(path.join(dir, `${CA('b')}.jsonl`)));
    retention.close();
  });
});

describe('RecordingsRetention free-space guard', () => {
  it('pauses recording below the threshold with one warning, resumes above it', async () => {
    const { dir, clock, logs } = setup();
    let free = 5e9;
    const retention = new RecordingsRetention({
      dir,
      maxBytes: 1e9,
      maxAgeDays: 30,
      clock,
      logger: logs.logger,
      isLive: () => false,
      minFreeBytes: 1024 ** 3,
      freeBytes: () => Promise.resolve(free),
    });
    expect(await retention.checkDisk()).toBe(true);
    free = 0.5e9;
    expect(await retention.checkDisk()).toBe(false);
    expect(await retention.checkDisk()).toBe(false);
    expect(retention.recordingAllowed).toBe(false);
    expect(logs.lines.filter((l) => l.msg.startsWith('recording paused')).length).toBe(1);
    free = 2e9;
    expect(await retention.checkDisk()).toBe(true);
    expect(retention.recordingAllowed).toBe(true);
    await logs.waitFor('recording resumed: disk space is back');
  });
});
