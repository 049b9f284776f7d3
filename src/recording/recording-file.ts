/**
 * Reads a recording from disk: the JSONL log and, for format 3, the audio tracks its header
 * names (see `protocol/recording.ts`). A track is looked for beside the log and only there: a
 * header naming a path (`../x`, `/etc/…`) is refused, so a recording cannot make a replay read
 * files outside its folder.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import {
  DIRECTIONS,
  parseRecording,
  parseRecordingHeader,
  type RecordingParse,
  type TrackBytes,
} from '../protocol/recording.js';

/** Parses the recording whose log is `text`, read from `file` (where its tracks are looked for). */
export function parseRecordingAt(file: string, text: string): RecordingParse {
  const head = parseRecordingHeader(text);
  if (!head.ok) return head;
  const tracks: TrackBytes = {};
  for (const dir of DIRECTIONS) {
    const track = head.header.tracks?.[dir];
    if (track === undefined) continue;
    if (path.basename(track.file) !== track.file || track.file.startsWith('.'))
      return { ok: false, reason: `the header names ${JSON.stringify(track.file)} as a track: not a file name` };
    try {
      tracks[dir] = readFileSync(path.join(path.dirname(file), track.file));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { ok: false, reason: `the ${dir} audio track ${track.file} cannot be read (${code ?? 'error'})` };
    }
  }
  return parseRecording(text, tracks);
}

/** Reads and parses a recording file (its log and its tracks). @throws on a log that cannot be read */
export function readRecording(file: string): RecordingParse {
  return parseRecordingAt(file, readFileSync(file, 'utf8'));
}
