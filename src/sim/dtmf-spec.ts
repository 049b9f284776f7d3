/** The `--dtmf` option of `npm run call`: which keys the simulated caller presses, and when. */

/** Keys pressed together (`1,2@5000`) are this far apart: about how fast a person presses them. */
export const DTMF_KEY_GAP_MS = 150;

/**
 * `1,2@5000,9@8000` → 1 at 5000 ms, 2 at 5150 ms, 9 at 8000 ms: keys before an `@ms` share its
 * time. Keys are 0-9, `*`, `#`, A-D. @throws Error naming the bad part
 */
export function parseDtmfSpec(spec: string): { digit: string; atMs: number }[] {
  const out: { digit: string; atMs: number }[] = [];
  let group: string[] = [];
  for (const token of spec
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')) {
    const m = /^([0-9*#A-D])(?:@(\d+))?$/i.exec(token);
    if (m === null) throw new Error(`--dtmf: ${JSON.stringify(token)} is not a key (0-9 * # A-D), optionally @ms`);
    group.push(m[1]!.toUpperCase());
    if (m[2] !== undefined) {
      const at = Number(m[2]);
      group.forEach((digit, i) => out.push({ digit, atMs: at + i * DTMF_KEY_GAP_MS }));
      group = [];
    }
  }
  if (group.length > 0) throw new Error(`--dtmf: keys ${group.join(',')} need a time (e.g. ${group.join(',')}@5000)`);
  return out.sort((a, b) => a.atMs - b.atMs);
}
