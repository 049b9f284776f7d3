/**
 * Bounds on the call recordings (SPEC §8): a recording is deleted, oldest first, once it is
 * older than RECORDINGS_RETENTION_DAYS or while all of them together take more than
 * RECORDINGS_MAX_GB — checked at start-up and every hour. A call's recording may be several
 * files (the JSONL log and binary audio tracks beside it): every file whose name starts with
 * the CallSid is one recording, kept or deleted together, aged by its newest file. Recordings
 * of calls still running are never touched.
 *
 * While the disk holding them has less than {@link DEFAULT_MIN_FREE_BYTES} free, new calls are
 * not recorded (a warning says so once, and another line when recording resumes): a full
 * disk would take the call store down with it.
 *
 * Time comes from the injected clock; file ages compare its `now()` with the files' mtimes.
 */
import { mkdir, readdir, stat, statfs, unlink } from 'node:fs/promises';
import path from 'node:path';

import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/** SPEC §8: recording pauses below 1 GiB free. */
export const DEFAULT_MIN_FREE_BYTES = 1024 ** 3;
/** SPEC §8: the bounds are checked at start and hourly. */
export const SWEEP_INTERVAL_MS = 3_600_000;
/**
 * How often free space is looked at: a minute of calls writes ~0.5 GB at 200 recorded calls
 * (≈2.9 MB per 20 s call), well inside the 1 GiB margin.
 */
export const DISK_CHECK_INTERVAL_MS = 60_000;
const DAY_MS = 86_400_000;

/** The CallSid a recording file belongs to: its name's leading letters and digits. */
export function recordingKey(fileName: string): string | null {
  return /^[A-Za-z0-9]+/.exec(fileName)?.[0] ?? null;
}

export interface RetentionOptions {
  /** the recordings directory (`DATA_DIR/recordings`) */
  dir: string;
  /** RECORDINGS_MAX_GB in bytes */
  maxBytes: number;
  /** RECORDINGS_RETENTION_DAYS */
  maxAgeDays: number;
  clock: Clock;
  logger: Logger;
  /** true for a CallSid whose call is running: its recording is never deleted */
  isLive: (callSid: string) => boolean;
  /** recording pauses below this many free bytes (default {@link DEFAULT_MIN_FREE_BYTES}) */
  minFreeBytes?: number;
  /** free bytes on the disk holding `dir` (default: `statfs`, the space an unprivileged user may use) */
  freeBytes?: (dir: string) => Promise<number>;
  /** recordings were deleted (metrics) */
  onDeleted?: (count: number) => void;
}

interface Recording {
  key: string;
  files: string[];
  bytes: number;
  /** mtime of its newest file */
  lastWriteMs: number;
}

export interface SweepResult {
  /** CallSids whose recordings were deleted */
  deleted: string[];
  /** bytes the remaining recordings take */
  keptBytes: number;
}

async function statfsFreeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

export class RecordingsRetention {
  private sweepTimer: TimerHandle | null = null;
  private diskTimer: TimerHandle | null = null;
  private sweeping: Promise<SweepResult> | null = null;
  private lowOnSpace = false;
  private closed = false;
  private readonly minFreeBytes: number;
  private readonly freeBytes: (dir: string) => Promise<number>;

  constructor(private readonly options: RetentionOptions) {
    this.minFreeBytes = options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
    this.freeBytes = options.freeBytes ?? statfsFreeBytes;
  }

  /** Sweeps and checks the disk now, then every hour (sweep) and minute (disk). */
  start(): void {
    const loop = (intervalMs: number, run: () => Promise<unknown>, set: (t: TimerHandle) => void) => {
      const tick = () => {
        if (this.closed) return;
        void run().finally(() => {
          if (!this.closed) set(this.options.clock.setTimer(intervalMs, tick));
        });
      };
      tick();
    };
    loop(
      SWEEP_INTERVAL_MS,
      () => this.sweep(),
      (t) => (this.sweepTimer = t),
    );
    loop(
      DISK_CHECK_INTERVAL_MS,
      () => this.checkDisk(),
      (t) => (this.diskTimer = t),
    );
  }

  /** False while the disk is short of space: the next calls are not recorded. */
  get recordingAllowed(): boolean {
    return !this.lowOnSpace;
  }

  /** Looks at the free space now; resolves with whether recording is allowed. Never rejects. */
  async checkDisk(): Promise<boolean> {
    try {
      await mkdir(this.options.dir, { recursive: true });
      const free = await this.freeBytes(this.options.dir);
      const low = free < this.minFreeBytes;
      if (low && !this.lowOnSpace) {
        this.options.logger.warn(
          { dir: this.options.dir, freeBytes: free, minFreeBytes: this.minFreeBytes },
          'recording paused: the recordings disk is short of free space; new calls are not recorded',
        );
      } else if (!low && this.lowOnSpace) {
        this.options.logger.info({ dir: this.options.dir, freeBytes: free }, 'recording resumed: disk space is back');
      }
      this.lowOnSpace = low;
    } catch (err) {
      this.options.logger.warn({ err, dir: this.options.dir }, 'cannot read the free space of the recordings disk');
    }
    return !this.lowOnSpace;
  }

  /** Deletes what is past either bound. Concurrent calls share one sweep. Never rejects. */
  sweep(): Promise<SweepResult> {
    this.sweeping ??= this.runSweep().finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  private async runSweep(): Promise<SweepResult> {
    const deleted: string[] = [];
    let recordings: Recording[];
    try {
      recordings = await this.list();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.options.logger.warn({ err, dir: this.options.dir }, 'cannot list the recordings');
      return { deleted, keptBytes: 0 };
    }
    recordings.sort((a, b) => a.lastWriteMs - b.lastWriteMs);
    const oldestKeptMs = this.options.clock.now() - this.options.maxAgeDays * DAY_MS;
    let total = recordings.reduce((sum, r) => sum + r.bytes, 0);
    for (const recording of recordings) {
      const expired = recording.lastWriteMs < oldestKeptMs;
      if (!expired && total <= this.options.maxBytes) break;
      if (this.options.isLive(recording.key)) continue;
      if (await this.remove(recording)) {
        total -= recording.bytes;
        deleted.push(recording.key);
      }
    }
    if (deleted.length > 0) {
      this.options.onDeleted?.(deleted.length);
      this.options.logger.info(
        { deleted: deleted.length, keptBytes: total, maxBytes: this.options.maxBytes, days: this.options.maxAgeDays },
        'old recordings deleted (RECORDINGS_RETENTION_DAYS / RECORDINGS_MAX_GB)',
      );
    }
    return { deleted, keptBytes: total };
  }

  /** The recordings in the directory, one per CallSid. */
  private async list(): Promise<Recording[]> {
    const byKey = new Map<string, Recording>();
    for (const entry of await readdir(this.options.dir, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const key = recordingKey(entry.name);
      if (key === null) continue;
      let info;
      try {
        info = await stat(path.join(this.options.dir, entry.name));
      } catch {
        continue; // deleted meanwhile
      }
      const recording = byKey.get(key) ?? { key, files: [], bytes: 0, lastWriteMs: 0 };
      recording.files.push(entry.name);
      recording.bytes += info.size;
      recording.lastWriteMs = Math.max(recording.lastWriteMs, info.mtimeMs);
      byKey.set(key, recording);
    }
    return [...byKey.values()];
  }

  private async remove(recording: Recording): Promise<boolean> {
    let ok = true;
    for (const file of recording.files) {
      try {
        await unlink(path.join(this.options.dir, file));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        ok = false;
        this.options.logger.warn({ err, file }, 'cannot delete an old recording');
      }
    }
    return ok;
  }

  close(): void {
    this.closed = true;
    if (this.sweepTimer !== null) this.options.clock.clearTimer(this.sweepTimer);
    if (this.diskTimer !== null) this.options.clock.clearTimer(this.diskTimer);
    this.sweepTimer = this.diskTimer = null;
  }
}
