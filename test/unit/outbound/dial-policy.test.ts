import { describe, expect, it } from 'vitest';

import { countryPrefix, mayDial, parseDialRequest } from '../../../src/outbound/dial-policy.js';

describe('dial policy (SPEC §13)', () => {
  it.each([
    ['+15551230001', '+1'],
    ['+447700900123', '+44'],
    ['+353851234567', '+353'],
    ['+79161234567', '+7'],
    ['+4915112345678', '+49'],
  ])('country prefix of %s is %s', (number, prefix) => expect(countryPrefix(number)).toBe(prefix));

  it("OUTBOUND_ALLOW, or by default the from number's country only (toll fraud)", () => {
    expect(mayDial('+15557770001', '+15551230001', null)).toBe(true);
    expect(mayDial('+447700900123', '+15551230001', null)).toBe(false);
    expect(mayDial('+447700900123', '+15551230001', ['+1', '+44'])).toBe(true);
    expect(mayDial('+15557770001', '+15551230001', ['+44'])).toBe(false);
  });

  it('a bad body names the field', () => {
    expect(parseDialRequest({ to: '+15557770001', from: '5551230001' })).toMatchObject({ ok: false, error: /^from: / });
    expect(parseDialRequest({ to: '+15557770001', from: '+15551230001', machine_detection: 'maybe' })).toMatchObject({
      ok: false,
      error: /^machine_detection: must be one of off, hangup, voicemail/,
    });
    expect(parseDialRequest({ to: '+15557770001', from: '+15551230001', colour: 'red' })).toMatchObject({
      ok: false,
      error: /unknown field\(s\) colour/,
    });
    expect(parseDialRequest(null)).toMatchObject({ ok: false });
  });

  it('a good body, with defaults for what it omits', () => {
    expect(parseDialRequest({ to: '+15557770001', from: '+15551230001', variables: { name: 'Ann' } })).toEqual({
      ok: true,
      value: {
        to: '+15557770001',
        from: '+15551230001',
        profile: null,
        variables: { name: 'Ann' },
        machineDetection: null,
        voicemailMessage: null,
      },
    });
  });
});
