/**
 * Analytic test signals (dsp.md "Method"): every signal is a list of sinusoids, so its ideal
 * band-limited version can be rendered exactly at any sample rate and any delay. Used by the
 * audio tests, the bench and {@link fitTones}. Pure and deterministic (seeded).
 *
 * Level convention (AES17): 0 dBFS is the RMS of a full-scale int16 sine (peak 32768), so a
 * "−20 dBFS tone" has a peak of 3277.
 */

/** One sinusoid: `amplitude · sin(2π · frequencyHz · t + phaseRad)`, t in seconds. */
export interface Tone {
  readonly frequencyHz: number;
  /** peak, on the int16 scale */
  readonly amplitude: number;
  readonly phaseRad: number;
}

/** Peak of a full-scale int16 sine; 0 dBFS by the AES17 convention above. */
export const FULL_SCALE = 32768;

/** Peak amplitude of a sine at `levelDbfs`. */
export function sineAmplitude(levelDbfs: number): number {
  return FULL_SCALE * 10 ** (levelDbfs / 20);
}

/** Concatenates PCM chunks into one array. */
export function concatInt16(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Small seeded PRNG (mulberry32): uniform in [0, 1). Deterministic for a seed; not for
 * anything but test signals.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options for {@link speechShapedTones} and {@link highBandTones}. */
export interface ToneSetOptions {
  /** number of tones; default 120 */
  count?: number;
  /** total RMS level; default −20 dBFS (speech) or 6 dB below that (high band) */
  levelDbfs?: number;
}

/**
 * A speech-shaped multitone (dsp.md): 120 non-harmonic tones between 300 and 3400 Hz,
 * log-spaced with ±30 % jitter of their spacing, flat to 500 Hz then falling 6 dB per
 * octave, random phases, −20 dBFS RMS in total.
 */
export function speechShapedTones(seed: number, options: ToneSetOptions = {}): Tone[] {
  return toneSet(seed, 300, 3400, options.count ?? 120, options.levelDbfs ?? -20, (f) => (f <= 500 ? 1 : 500 / f));
}

/**
 * Out-of-band content for alias tests: 120 tones between 4.6 and 11 kHz, flat, 6 dB below
 * the speech band (−26 dBFS RMS in total). Every one of them aliases into 300–3400 Hz when
 * 24 kHz audio is decimated to 8 kHz without filtering.
 */
export function highBandTones(seed: number, options: ToneSetOptions = {}): Tone[] {
  return toneSet(seed, 4600, 11000, options.count ?? 120, options.levelDbfs ?? -26, () => 1);
}

function toneSet(
  seed: number,
  lowHz: number,
  highHz: number,
  count: number,
  levelDbfs: number,
  shape: (frequencyHz: number) => number,
): Tone[] {
  const random = seededRandom(seed);
  const ratio = (highHz / lowHz) ** (1 / count);
  const raw: { frequencyHz: number; weight: number; phaseRad: number }[] = [];
  for (let k = 0; k < count; k++) {
    const lo = lowHz * ratio ** k;
    const jitter = 0.2 + 0.6 * random(); // stay inside this tone's slot: no two tones coincide
    const frequencyHz = lo * ratio ** jitter;
    raw.push({ frequencyHz, weight: shape(frequencyHz), phaseRad: 2 * Math.PI * random() });
  }
  // sum of sines: RMS² = Σ A² / 2. Target RMS = (full-scale sine RMS) · 10^(level/20).
  const targetRms = (FULL_SCALE / Math.SQRT2) * 10 ** (levelDbfs / 20);
  const rawRms = Math.sqrt(raw.reduce((s, t) => s + (t.weight * t.weight) / 2, 0));
  const scale = targetRms / rawRms;
  return raw.map((t) => ({ frequencyHz: t.frequencyHz, amplitude: t.weight * scale, phaseRad: t.phaseRad }));
}

/** Options for {@link renderTones}. */
export interface RenderOptions {
  /** delay in seconds: sample n is the signal at time n / rate − delaySeconds; default 0 */
  delaySeconds?: number;
  /** index of the first sample rendered; default 0 */
  startSample?: number;
}

/**
 * Renders `Σ amplitude · sin(2π f (n / rate − delay) + phase)` for n = start … start + length − 1,
 * as float64 (not rounded). Uses a phasor recurrence re-anchored every 256 samples, so the
 * error stays below 1e-9 of the amplitude at any length.
 */
export function renderTones(
  tones: readonly Tone[],
  sampleRateHz: number,
  length: number,
  options: RenderOptions = {},
): Float64Array {
  const delaySeconds = options.delaySeconds ?? 0;
  const startSample = options.startSample ?? 0;
  const out = new Float64Array(length);
  const BLOCK = 256;
  for (const tone of tones) {
    const w = (2 * Math.PI * tone.frequencyHz) / sampleRateHz;
    const cosW = Math.cos(w);
    const sinW = Math.sin(w);
    for (let b = 0; b < length; b += BLOCK) {
      const theta = w * (startSample + b) - 2 * Math.PI * tone.frequencyHz * delaySeconds + tone.phaseRad;
      let s = Math.sin(theta);
      let c = Math.cos(theta);
      const end = Math.min(length, b + BLOCK);
      for (let n = b; n < end; n++) {
        out[n] = out[n]! + tone.amplitude * s;
        const s2 = s * cosW + c * sinW;
        c = c * cosW - s * sinW;
        s = s2;
      }
    }
  }
  return out;
}

/** Rounds and clamps float samples to int16 (halves away from −∞, like `Math.round`). */
export function toInt16Samples(samples: ArrayLike<number>): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const r = Math.round(samples[i]!);
    out[i] = r > 32767 ? 32767 : r < -32768 ? -32768 : r;
  }
  return out;
}
