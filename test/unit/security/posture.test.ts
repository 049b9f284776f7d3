/**
 * Start-up warns about every setting weaker than the production setup (issue #14 items 1 and
 * 8): local mode, no ADMIN_TOKEN, no PUBLIC_URL, an open /metrics.
 */
import { describe, expect, it } from 'vitest';

import { securityWarnings, type PostureSettings } from '../../../src/security/posture.js';

const production: PostureSettings = {
  localMode: false,
  adminToken: 'a'.repeat(24),
  publicUrl: 'https://bridge.example.com',
  metricsToken: 'm'.repeat(24),
  trustProxy: false,
  bridgeSigningSecret: 's'.repeat(32),
};

describe('securityWarnings', () => {
  it('is silent for the README production setup', () => {
    expect(securityWarnings(production)).toEqual([]);
  });

  it('local mode: one warning saying nothing forwarded counts as local', () => {
    const warnings = securityWarnings({ ...production, localMode: true, adminToken: null, publicUrl: null });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^local mode: TWILIO_AUTH_TOKEN is not set/);
    expect(warnings[0]).toContain('X-Forwarded-For');
  });

  it.each([
    ['adminToken', /^ADMIN_TOKEN is not set: the admin API \(\/api\/\*\) answers 401 to everyone/],
    ['publicUrl', /^PUBLIC_URL is not set: webhook signatures are checked against the URL rebuilt from the Host/],
    ['metricsToken', /^METRICS_TOKEN is not set: \/metrics answers anyone/],
  ] as const)('with TWILIO_AUTH_TOKEN set, no %s → a warning naming the variable', (field, message) => {
    const warnings = securityWarnings({ ...production, [field]: null });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(message);
  });

  it.each([false, true])(
    'no BRIDGE_SIGNING_SECRET (local mode %s) → a warning that tool requests go unsigned',
    (local) => {
      const warnings = securityWarnings({ ...production, localMode: local, bridgeSigningSecret: null });
      expect(warnings).toHaveLength(local ? 2 : 1);
      expect(warnings.at(-1)).toMatch(/^BRIDGE_SIGNING_SECRET is not set: requests to tool backends .* go unsigned/);
    },
  );
});
