/**
 * Strict base64 for audio on both wires (Twilio `media.payload`, Realtime `delta` / `audio`):
 * the standard alphabet (`A–Z a–z 0–9 + /`), padded to a multiple of 4 characters with at
 * most two trailing `=` — the language of `/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/`.
 *
 * Checked without a regular expression: the regex cost about as much as the `JSON.parse` of
 * the whole Twilio message it sits in (figures: bench/README.md). Node's decoder skips
 * characters outside the alphabet and stops at `=`, so any such character leaves the output
 * shorter than the length the padding implies; the URL-safe `-` and `_`, which Node accepts,
 * are looked for separately. Pure.
 */

const EQUALS = 61; // '='

/**
 * Decodes `text` if it is strict padded base64 (see the module header), else null. The
 * empty string decodes to an empty Buffer.
 */
export function decodeStrictBase64(text: string): Buffer | null {
  const n = text.length;
  if (n % 4 !== 0) return null;
  const padding = n > 0 && text.charCodeAt(n - 1) === EQUALS ? (text.charCodeAt(n - 2) === EQUALS ? 2 : 1) : 0;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== (n / 4) * 3 - padding) return null;
  if (text.includes('-') || text.includes('_')) return null;
  return bytes;
}
