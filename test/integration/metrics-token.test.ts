/**
 * `/metrics` behind METRICS_TOKEN (issue #14 item 13): with the variable set, a scrape needs
 * `Authorization: Bearer <METRICS_TOKEN>`; without it `/metrics` stays open, as before.
 */
import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/config/env.js';
import { startTestBridge } from '../support/bridge.js';

const METRICS_TOKEN = 'metrics-token-for-tests-1234';

describe('METRICS_TOKEN set', async () => {
  const { url } = await startTestBridge({ env: { METRICS_TOKEN } });

  it('/metrics answers 401 without the bearer token and the metrics with it', async () => {
    const none = await fetch(`${url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await none.text()).not.toContain('bridge_active_calls');
    expect(
      (await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong-token-of-the-same-size' } })).status,
    ).toBe(401);
    const ok = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^bridge_active_calls 0$/m);
  });
});

describe('METRICS_TOKEN unset', async () => {
  const { url } = await startTestBridge();
  it('/metrics is open', async () => {
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
  });
});

describe('METRICS_TOKEN shorter than 16 characters', () => {
  it('is a configuration error that names the variable and not the value', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'tiny-token' }, '/nonexistent')).toThrow(
      /^METRICS_TOKEN=\(secret value\) is shorter than 16 characters/,
    );
  });
});
