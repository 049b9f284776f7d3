/**
 * The files the bridge reads from its own installation (not from the working directory),
 * located in one place. Every module lives one folder below the source root, whether it runs
 * from `src/` through tsx or compiled from `dist/` (tsconfig.build.json: `rootDir: src`,
 * `outDir: dist`), so the project root is two levels above this file in both layouts. The
 * production image keeps that layout (`/app/dist`, `/app/assets`, `/app/package.json`).
 */
import path from 'node:path';

/** The folder holding package.json, assets/ and numbers.example.yaml. */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

/** The bridge's own package.json (its `version` is written into every recording). */
export const PACKAGE_JSON_FILE = path.join(PROJECT_ROOT, 'package.json');

/** The example profiles shipped with the project; used when no numbers.yaml exists. */
export const EXAMPLE_NUMBERS_FILE = path.join(PROJECT_ROOT, 'numbers.example.yaml');

/** The shipped speech clips (listed with their transcripts in clips.json). */
export const ASSETS_AUDIO_DIR = path.join(PROJECT_ROOT, 'assets/audio');

/** Played when the model cannot be reached (made with espeak-ng; see scripts/make-clips.sh). */
export const APOLOGY_CLIP_FILE = path.join(ASSETS_AUDIO_DIR, 'apology.ulaw8k.wav');
