/**
 * The recording bounds in the running bridge (SPEC §8, issue #14 item 10): recordings past
 * RECORDINGS_RETENTION_DAYS are gone right after start-up, and while the recordings disk is
 * short of free space (the threshold raised through the bridge's test seam, so this machine's
 * disk counts as "full") a call runs unrecorded with a warning.
 */
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { silence, startCallHarness, until } from '../support/call-harness.js';
import { tempDir } from '../support/tmp.js';

describe('at start-up', async () => {
  const dataDir = path.join(tempDir(), 'data');
  const recordings = path.join(dataDir, 'recordings');
  mkdirSync(recordings, { recursive: true });
  const old = `CA${'0'.repeat(32)}`;
  const fresh = `CA${'f'.repeat(32)}`;
  for (const name of [`${old}.jsonl`, `${old}.caller.ulaw`, `${fresh}.jsonl`]) {
    writeFileSync(path.join(recordings, name), '{}\n');
  }
  const fortyDaysAgo = (Date.now() - 40 * 86_400_000) / 1000;
  for (const name of [`${old}.jsonl`, `${old}.caller.ulaw`])
    utimesSync(path.join(recordings, name), fortyDaysAgo, fortyDaysAgo);
  const h = await startCallHarness({ env: { DATA_DIR: dataDir, RECORD_CALLS: '1', RECORDINGS_RETENTION_DAYS: '30' } });

  it('recordings older than RECORDINGS_RETENTION_DAYS are deleted, newer ones kept', async () => {
    await h.logs.waitFor('old recordings deleted (RECORDINGS_RETENTION_DAYS / RECORDINGS_MAX_GB)');
    expect(readdirSync(recordings)).toEqual([`${fresh}.jsonl`]);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/^bridge_recordings_deleted_total 1$/m);
  });
});

describe('with the recordings disk short of space', async () => {
  const h = await startCallHarness({
    env: { RECORD_CALLS: '1' },
    bridge: { recordingsMinFreeBytes: Number.MAX_SAFE_INTEGER },
  });

  it('a call runs unrecorded, and a warning says why', { timeout: 10_000 }, async () => {
    await h.logs.waitFor(/^recording paused: the recordings disk is short of free space/);
    const phone = h.phone({ to: '+15551230001', callerAudio: silence(1_000), timeScale: 2 });
    await phone.dial();
    await until(() => h.bridge.activeCalls === 1, 3_000, 'the call to start');
    await phone.hangUp();
    await until(() => h.bridge.activeCalls === 0, 3_000, 'the call to end');
    const dir = path.join(h.dir, 'data', 'recordings');
    expect(existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(phone.callSid)) : []).toEqual([]);
  });
});
