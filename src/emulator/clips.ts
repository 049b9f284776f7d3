/**
 * The emulator's speech clips: shipped WAVs (assets/audio, listed with their transcripts in
 * assets/audio/clips.json) plus any a test registers. Each clip is stored once and rendered
 * on demand into either model-side format (μ-law 8 kHz or PCM16 24 kHz), cached.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { z } from 'zod';

import { parseWav } from '../audio/wav.js';
import { ASSETS_AUDIO_DIR } from '../util/project-files.js';

import { decodeMulaw, fromSamples, pcm16ToSamples, type EmulatorAudioFormat } from './audio-convert.js';

/** A clip ready to stream. */
export interface RenderedClip {
  /** audio bytes in the requested format */
  audio: Buffer;
  transcript: string;
  durationMs: number;
}

/** A clip as a test supplies it: mono samples at 8 or 24 kHz. */
export interface ClipSource {
  samples: Int16Array;
  rateHz: 8000 | 24000;
  transcript: string;
}

const ManifestSchema = z.object({
  clips: z.record(z.string(), z.object({ file: z.string(), transcript: z.string() })),
});

/** Reads a mono PCM16 or μ-law WAV into samples. Throws with the file name on a bad file. */
export function readWavSamples(file: string): { samples: Int16Array; rateHz: number } {
  const parsed = parseWav(readFileSync(file));
  if (!parsed.ok) throw new Error(`${file}: ${parsed.reason}`);
  const { encoding, sampleRateHz, channels, data } = parsed.value;
  if (channels !== 1) throw new Error(`${file}: ${channels} channels, need mono`);
  return { samples: encoding === 'pcm16' ? pcm16ToSamples(data) : decodeMulaw(data), rateHz: sampleRateHz };
}

/**
 * Named clips (shipped and registered), rendered per format on first use and cached.
 * Throws at construction when the manifest is unreadable (a broken install), never later
 * for a known shipped clip; an unknown name renders as null.
 */
export class ClipLibrary {
  private readonly sources = new Map<string, ClipSource | { file: string; transcript: string }>();
  private readonly rendered = new Map<string, RenderedClip>();

  /** @param dir directory holding clips.json and the WAVs; the shipped assets by default */
  constructor(dir: string = ASSETS_AUDIO_DIR) {
    const manifest = ManifestSchema.parse(JSON.parse(readFileSync(path.join(dir, 'clips.json'), 'utf8')));
    for (const [name, entry] of Object.entries(manifest.clips)) {
      this.sources.set(name, { file: path.join(dir, entry.file), transcript: entry.transcript });
    }
  }

  /** Adds or replaces a clip (tests: a short synthetic answer keeps a suite fast). */
  register(name: string, source: ClipSource): void {
    this.sources.set(name, source);
    for (const key of [...this.rendered.keys()]) if (key.startsWith(`${name}\u0000`)) this.rendered.delete(key);
  }

  has(name: string): boolean {
    return this.sources.has(name);
  }

  get names(): string[] {
    return [...this.sources.keys()];
  }

  /** The clip in `format`, or null when there is no such clip. WAVs are read on first use. */
  render(name: string, format: EmulatorAudioFormat): RenderedClip | null {
    const key = `${name}\u0000${format}`;
    const cached = this.rendered.get(key);
    if (cached !== undefined) return cached;
    const source = this.sources.get(name);
    if (source === undefined) return null;
    let samples: Int16Array;
    let rateHz: number;
    if ('file' in source) {
      ({ samples, rateHz } = readWavSamples(source.file));
    } else {
      ({ samples, rateHz } = source);
    }
    if (rateHz !== 8000 && rateHz !== 24000) throw new Error(`clip ${name}: ${rateHz} Hz, need 8000 or 24000`);
    const audio = fromSamples(samples, rateHz, format);
    const clip: RenderedClip = { audio, transcript: source.transcript, durationMs: (samples.length * 1000) / rateHz };
    this.rendered.set(key, clip);
    return clip;
  }
}
