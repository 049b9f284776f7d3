import { describe, expect, it } from 'vitest';

import { STREAM_TOKEN_TTL_MS, StreamTokens, type StreamClaims } from '../../../src/security/stream-token.js';
import { VirtualClock } from '../../../src/util/clock.js';

const claims: StreamClaims = {
  callSid: 'CA0123456789abcdef0123456789abcdef',
  profile: '+15551230001',
  from: '+15550001111',
  to: '+15551230001',
};

describe('StreamTokens', () => {
  it('verifies once, for its own call, within the TTL', () => {
    const tokens = new StreamTokens(new VirtualClock());
    const token = tokens.issue(claims);
    expect(token.length).toBeLessThan(200); // <Parameter> name + value must stay under 500 characters
    expect(tokens.verify(token, claims)).toEqual({ ok: true });
    expect(tokens.verify(token, claims)).toEqual({ ok: false, reason: 'replayed' });
  });

  it.each<[string, Partial<StreamClaims>]>([
    ['another CallSid', { callSid: 'CAffffffffffffffffffffffffffffffff' }],
    ['another profile', { profile: 'defaults' }],
    ['another caller', { from: '+15559999999' }],
    ['another called number', { to: '+15551230002' }],
  ])('refuses a token presented for %s', (_name, change) => {
    const tokens = new StreamTokens(new VirtualClock());
    const token = tokens.issue(claims);
    expect(tokens.verify(token, { ...claims, ...change })).toEqual({ ok: false, reason: 'bad_signature' });
    // the failed attempt did not consume it
    expect(tokens.verify(token, claims)).toEqual({ ok: true });
  });

  it('expires: valid at the TTL, refused 1 ms after', () => {
    const clock = new VirtualClock();
    const tokens = new StreamTokens(clock);
    const a = tokens.issue(claims);
    const b = tokens.issue(claims);
    clock.advance(STREAM_TOKEN_TTL_MS);
    expect(tokens.verify(a, claims)).toEqual({ ok: true });
    clock.advance(1);
    expect(tokens.verify(b, claims)).toEqual({ ok: false, reason: 'expired' });
    expect(STREAM_TOKEN_TTL_MS).toBeLessThanOrEqual(60_000);
  });

  it('refuses tokens from another key and malformed ones', () => {
    const clock = new VirtualClock();
    const mine = new StreamTokens(clock, 'key-one');
    const theirs = new StreamTokens(clock, 'key-two');
    expect(mine.verify(theirs.issue(claims), claims)).toEqual({ ok: false, reason: 'bad_signature' });
    for (const bad of ['', 'v1', 'v1.a.b', 'v2.a.b.c', 'garbage.with.four.parts']) {
      expect(mine.verify(bad, claims).ok).toBe(false);
    }
  });

  it('instances sharing a secret accept each other (several bridges behind one load balancer)', () => {
    const clock = new VirtualClock();
    expect(new StreamTokens(clock, 'shared').verify(new StreamTokens(clock, 'shared').issue(claims), claims)).toEqual({
      ok: true,
    });
  });
});
