/**
 * `Redactor.deep` on JSON a socket may send (found by the fuzz suite): nesting thousands deep
 * used to overflow the stack — the recorder's tap threw, and on the Twilio side the valid
 * message carrying it was dropped — and a `__proto__` key vanished from the copy.
 */
import { describe, expect, it } from 'vitest';

import { MAX_REDACT_DEPTH, REDACTED, Redactor, TOO_DEEP } from '../../../src/security/redact.js';

describe('Redactor.deep on adversarial JSON', () => {
  const redactor = new Redactor(['sk-secret-value']);

  it('copies JSON nested 20,000 deep without overflowing the stack; the part past the limit becomes a marker', () => {
    const depth = 20_000;
    const value = JSON.parse(`{"event":"media","extra":${'['.repeat(depth)}${']'.repeat(depth)}}`) as unknown;
    const copy = redactor.deep(value) as { event: string; extra: unknown };
    expect(copy.event).toBe('media');
    let node: unknown = copy.extra;
    let levels = 1; // `extra` sits one level below the root
    while (Array.isArray(node)) {
      node = node[0];
      levels++;
    }
    expect(levels).toBe(MAX_REDACT_DEPTH);
    expect(node).toBe(TOO_DEEP);
    expect(() => JSON.stringify(copy)).not.toThrow();
  });

  it('keeps what is within the limit, secrets still redacted at depth', () => {
    const value = { a: { b: { c: [{ token: 'abc', note: 'key sk-secret-value here' }] } } };
    expect(redactor.deep(value)).toEqual({ a: { b: { c: [{ token: REDACTED, note: `key ${REDACTED} here` }] } } });
  });

  it('a "__proto__" key stays an own, plain key and pollutes nothing', () => {
    const value = JSON.parse('{"event":"stop","__proto__":{"polluted":true,"token":"t0ps3cret"}}') as Record<
      string,
      unknown
    >;
    const copy = redactor.deep(value);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(copy))).toEqual(
      JSON.parse('{"event":"stop","__proto__":{"polluted":true,"token":"[redacted]"}}'),
    );
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
