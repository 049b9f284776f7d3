/**
 * `x-bridge-signature` (SPEC §9): the header a tool backend checks. The expected MAC is
 * computed here independently of the module, from the published scheme.
 */
import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { signBody, verifySignature } from '../../../src/security/bridge-signature.js';

const SECRET = 'whsec-test-0123456789';
const BODY = '{"tool":"lookup","arguments":{"date_of_birth":"1980-01-02"}}';
const NOW = Date.UTC(2026, 11, 7, 22, 0, 0);

describe('bridge signature', () => {
  it('is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const header = signBody(SECRET, BODY, NOW + 999);
    const t = Math.floor(NOW / 1000);
    const v1 = createHmac('sha256', SECRET).update(`${t}.${BODY}`).digest('hex');
    expect(header).toBe(`t=${t},v1=${v1}`);
  });

  it('verifies within 300 s either way, and not beyond', () => {
    const header = signBody(SECRET, BODY, NOW);
    expect(verifySignature(SECRET, header, BODY, NOW)).toEqual({ ok: true });
    expect(verifySignature(SECRET, header, BODY, NOW + 300_000)).toEqual({ ok: true });
    expect(verifySignature(SECRET, header, BODY, NOW - 300_000)).toEqual({ ok: true });
    expect(verifySignature(SECRET, header, BODY, NOW + 301_000)).toEqual({ ok: false, reason: 'expired' });
    expect(verifySignature(SECRET, header, BODY, NOW - 301_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses another body, another secret, or a changed timestamp', () => {
    const header = signBody(SECRET, BODY, NOW);
    expect(verifySignature(SECRET, header, `${BODY} `, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifySignature('other-secret', header, BODY, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    const moved = header.replace(/^t=(\d+)/, (_m, t: string) => `t=${Number(t) + 1}`);
    expect(verifySignature(SECRET, moved, BODY, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it.each([undefined, '', 'v1=abc', `t=${NOW / 1000}`, `t=x,v1=${'0'.repeat(64)}`, `t=1,v1=${'z'.repeat(64)}`])(
    'calls %j malformed',
    (header) => {
      expect(verifySignature(SECRET, header, BODY, NOW)).toEqual({ ok: false, reason: 'malformed' });
    },
  );

  it('accepts any one of several v1 entries (secret rotation)', () => {
    const good = signBody(SECRET, BODY, NOW);
    const header = `${good.split(',')[0]},v1=${'0'.repeat(64)},${good.split(',')[1]}`;
    expect(verifySignature(SECRET, header, BODY, NOW)).toEqual({ ok: true });
  });
});
