/**
 * The one redaction list (SPEC §5, STYLE §2.6). The logger, the call recorder and the admin
 * API all use it, so a secret that is hidden in one place is hidden in all of them.
 *
 * Two mechanisms:
 * - by key: any object property whose name is in {@link SECRET_KEYS} (case-insensitive,
 *   at any depth) has its value replaced by {@link REDACTED};
 * - by value: the configured secret strings (API keys, auth token, admin token) are scrubbed
 *   from every string, so a key pasted into a URL or an error message is hidden too.
 */

export const REDACTED = '[redacted]';

/** Property names that hold secrets, lower-case. `token` covers the one-time stream token in `customParameters`. */
export const SECRET_KEYS: readonly string[] = [
  'authorization',
  'api-key',
  'apikey',
  'api_key',
  'authtoken',
  'auth_token',
  'token',
  'streamtoken',
  'stream_token',
  'password',
  'secret',
  'client_secret',
  'x-twilio-signature',
  'openai_api_key',
  'azure_openai_api_key',
  'twilio_auth_token',
  'admin_token',
];

const SECRET_KEY_SET = new Set(SECRET_KEYS);
/** A JSON text naming a secret key as a property (any case, as JSON may escape nothing in these names). */
const SECRET_KEY_IN_JSON = new RegExp(
  `"(${SECRET_KEYS.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})"\\s*:`,
  'i',
);

/** Paths for pino's `redact` option: each secret key at the top level and up to three levels deep. */
export const PINO_REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) => {
  const seg = /^[a-z_][a-z0-9_]*$/i.test(key) ? `.${key}` : `["${key}"]`;
  const top = seg.startsWith('.') ? seg.slice(1) : seg;
  return [top, `*${seg}`, `*.*${seg}`, `*.*.*${seg}`];
});

/** True when `key` names a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY_SET.has(key.toLowerCase());
}

/** Shortest secret value worth scrubbing by value; shorter ones would blank out ordinary words. */
const MIN_SCRUB_LENGTH = 6;

/**
 * Nesting kept by {@link Redactor.deep}; deeper values become {@link TOO_DEEP}. Real wire
 * messages and call records nest about 10 levels (a tool's JSON schema); a socket can send
 * JSON nested thousands deep, which would overflow the stack of a recursive copy.
 */
export const MAX_REDACT_DEPTH = 64;
export const TOO_DEEP = '[too deep]';

export class Redactor {
  private readonly secrets: string[];

  /** @param secretValues configured secrets (empty and very short values are ignored) */
  constructor(secretValues: readonly (string | null | undefined)[] = []) {
    this.secrets = [
      ...new Set(secretValues.filter((s): s is string => typeof s === 'string' && s.length >= MIN_SCRUB_LENGTH)),
    ];
  }

  /** This redactor, scrubbing `values` too (one call's secrets, e.g. the header values it sends the provider). */
  withSecrets(values: readonly string[]): Redactor {
    return values.length === 0 ? this : new Redactor([...this.secrets, ...values]);
  }

  /** Scrubs configured secret values out of a string. */
  text(value: string): string {
    let out = value;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return out;
  }

  /**
   * A JSON text with configured secret values scrubbed, without parsing it — or null when the
   * text names a secret key, holds an escape (which could spell one: `"\u0074oken"`) or breaks
   * a line, and only {@link deep} on the parsed value is safe. For the recorder's audio path,
   * where parsing every frame would cost more than the frame's own handling.
   */
  jsonText(text: string): string | null {
    const unsafe = text.includes('\\') || text.includes('\n') || text.includes('\r') || SECRET_KEY_IN_JSON.test(text);
    if (unsafe) return null;
    return this.text(text);
  }

  /**
   * A deep copy of `value` with secret keys and secret values replaced. Cycles become
   * `[circular]`; anything nested deeper than {@link MAX_REDACT_DEPTH} becomes {@link TOO_DEEP}.
   * Never throws on parsed JSON, whatever its shape.
   */
  deep<T>(value: T): T {
    return this.walk(value, new WeakSet(), 0) as T;
  }

  private walk(value: unknown, seen: WeakSet<object>, depth: number): unknown {
    if (typeof value === 'string') return this.text(value);
    if (value === null || typeof value !== 'object') return value;
    if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return value;
    if (seen.has(value)) return '[circular]';
    if (depth >= MAX_REDACT_DEPTH) return TOO_DEEP;
    seen.add(value);
    if (Array.isArray(value)) return value.map((v) => this.walk(v, seen, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const copy = isSecretKey(k)
        ? v === null || v === undefined || v === ''
          ? v
          : REDACTED
        : this.walk(v, seen, depth + 1);
      // defineProperty, not assignment: a `__proto__` key (legal in JSON) stays a plain key.
      Object.defineProperty(out, k, { value: copy, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
}

/**
 * Masks the middle of a phone number for logs: `+15551234567` → `+1555***4567`.
 * Non-E.164 identifiers (`client:alice`, SIP URIs) keep their scheme and lose the rest.
 */
export function maskPhone(number: string | null | undefined): string {
  if (!number) return '';
  if (/^\+\d{7,15}$/.test(number)) return `${number.slice(0, 5)}***${number.slice(-4)}`;
  const colon = number.indexOf(':');
  return colon > 0 ? `${number.slice(0, colon + 1)}***` : '***';
}
