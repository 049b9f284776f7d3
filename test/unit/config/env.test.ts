import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { configSecrets, loadConfig } from '../../../src/config/env.js';
import { EXAMPLE_NUMBERS_FILE } from '../../../src/util/project-files.js';
import { resolveRealtimeEndpoint } from '../../../src/links/providers.js';
import { ConfigError } from '../../../src/util/errors.js';

const cwd = '/nonexistent-dir-for-test';
const EMU = 'ws://127.0.0.1:3000/emulator/v1/realtime';

describe('loadConfig defaults', () => {
  it('gives a working local configuration with no variables at all', () => {
    const c = loadConfig({}, cwd);
    expect(c.port).toBe(3000);
    expect(c.host).toBe('0.0.0.0');
    expect(c.localMode).toBe(true);
    expect(c.recordCalls).toBe(true);
    expect(c.numbersFile).toBe(EXAMPLE_NUMBERS_FILE);
    expect(c.dataDir).toBe(path.join(cwd, 'data'));
    expect(c.realtimeModel).toBe('gpt-realtime');
    expect(c.drainTimeoutS).toBe(600);
    expect(resolveRealtimeEndpoint(c, EMU).kind).toBe('emulator');
  });

  it('turns recording off by default once calls are signed (production), unless asked', () => {
    expect(loadConfig({ TWILIO_AUTH_TOKEN: 'secret-token-1' }, cwd).recordCalls).toBe(false);
    expect(loadConfig({ TWILIO_AUTH_TOKEN: 'secret-token-1', RECORD_CALLS: '1' }, cwd).recordCalls).toBe(true);
    expect(loadConfig({ RECORD_CALLS: '0' }, cwd).recordCalls).toBe(false);
  });
});

describe('loadConfig rejects bad values with one line naming the variable, the problem and the fix', () => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ PORT: 'abc' }, 'PORT', /^PORT="abc" is not an integer from 0 to 65535.*Fix: set PORT/],
    [{ PORT: '70000' }, 'PORT', /^PORT="70000" is not an integer/],
    [{ PUBLIC_URL: 'not a url' }, 'PUBLIC_URL', /^PUBLIC_URL="not a url" is not a URL.*Fix:/],
    [{ PUBLIC_URL: 'ftp://x.example' }, 'PUBLIC_URL', /has scheme ftp; expected https or http/],
    [{ REALTIME_URL: 'https://api.example.com/v1/realtime' }, 'REALTIME_URL', /has scheme https; expected wss or ws/],
    [{ REALTIME_DIALECT: 'v2' }, 'REALTIME_DIALECT', /is not one of ga, beta/],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /is not one of fatal, error/],
    [{ RECORD_CALLS: 'maybe' }, 'RECORD_CALLS', /is not a switch; use 1 or 0/],
    [{ TWILIO_ACCOUNT_SID: 'XY123' }, 'TWILIO_ACCOUNT_SID', /is not an Account SID/],
    // the URL may carry a password: never echoed
    [{ DATABASE_URL: 'mysql://u:pw@db/x' }, 'DATABASE_URL', /^DATABASE_URL=\(secret value\) has scheme mysql/],
    [{ INSTANCE_ID: 'a b' }, 'INSTANCE_ID', /^INSTANCE_ID="a b" must be 1–64 letters/],
    [
      { AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com' },
      'AZURE_OPENAI_API_KEY',
      /AZURE_OPENAI_API_KEY is missing/,
    ],
    [
      { AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', AZURE_OPENAI_API_KEY: 'k-123456' },
      'AZURE_OPENAI_DEPLOYMENT',
      /AZURE_OPENAI_DEPLOYMENT is missing/,
    ],
  ];
  it.each(cases)('%j → %s', (env, variable, message) => {
    let error: unknown;
    try {
      loadConfig(env, cwd);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).where).toBe(variable);
    expect((error as ConfigError).message).toMatch(message);
    expect((error as ConfigError).message).not.toContain('\n');
  });
});

describe('provider resolution (SPEC §2)', () => {
  it('OpenAI: GA URL with the model and a bearer key; beta adds the OpenAI-Beta header', () => {
    const ga = resolveRealtimeEndpoint(
      loadConfig({ OPENAI_API_KEY: 'sk-test-abcdef', REALTIME_MODEL: 'gpt-realtime-mini' }, cwd),
      EMU,
    );
    expect(ga).toMatchObject({
      kind: 'openai',
      dialect: 'ga',
      url: 'wss://api.openai.com/v1/realtime?model=gpt-realtime-mini',
    });
    expect(ga.headers).toEqual({ Authorization: 'Bearer sk-test-abcdef' });
    expect(ga.label).not.toContain('sk-test');
    const beta = resolveRealtimeEndpoint(
      loadConfig({ OPENAI_API_KEY: 'sk-test-abcdef', REALTIME_DIALECT: 'beta' }, cwd),
      EMU,
    );
    expect(beta.headers).toEqual({ Authorization: 'Bearer sk-test-abcdef', 'OpenAI-Beta': 'realtime=v1' });
  });

  it('Azure GA: /openai/v1/realtime?model=<deployment> with an api-key header, no api-version', () => {
    const e = resolveRealtimeEndpoint(
      loadConfig(
        {
          AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com/',
          AZURE_OPENAI_API_KEY: 'az-key-123456',
          AZURE_OPENAI_DEPLOYMENT: 'gpt-realtime',
        },
        cwd,
      ),
      EMU,
    );
    expect(e).toMatchObject({
      kind: 'azure',
      dialect: 'ga',
      url: 'wss://res.openai.azure.com/openai/v1/realtime?model=gpt-realtime',
    });
    expect(e.headers).toEqual({ 'api-key': 'az-key-123456' });
  });

  it('Azure preview: api-version and deployment in the query, beta dialect', () => {
    const e = resolveRealtimeEndpoint(
      loadConfig(
        {
          AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com',
          AZURE_OPENAI_API_KEY: 'az-key-123456',
          AZURE_OPENAI_DEPLOYMENT: 'rt',
          AZURE_OPENAI_API_VERSION: '2024-10-01-preview',
        },
        cwd,
      ),
      EMU,
    );
    expect(e).toMatchObject({
      kind: 'azure-preview',
      dialect: 'beta',
      url: 'wss://res.openai.azure.com/openai/realtime?api-version=2024-10-01-preview&deployment=rt',
    });
  });

  it('REALTIME_URL wins over every provider and carries the configured key the provider way', () => {
    const e = resolveRealtimeEndpoint(
      loadConfig({ REALTIME_URL: 'ws://127.0.0.1:9/rt', OPENAI_API_KEY: 'sk-test-abcdef' }, cwd),
      EMU,
    );
    expect(e).toMatchObject({ kind: 'custom', url: 'ws://127.0.0.1:9/rt', dialect: 'ga' });
    expect(e.headers).toEqual({ Authorization: 'Bearer sk-test-abcdef' });
  });

  it('the built-in emulator is asked for the beta dialect when REALTIME_DIALECT=beta', () => {
    expect(resolveRealtimeEndpoint(loadConfig({ REALTIME_DIALECT: 'beta' }, cwd), EMU)).toMatchObject({
      kind: 'emulator',
      dialect: 'beta',
      headers: { 'OpenAI-Beta': 'realtime=v1' },
    });
    expect(resolveRealtimeEndpoint(loadConfig({}, cwd), EMU).headers).toEqual({});
  });

  it('never quotes a secret value back in an error', () => {
    expect(() =>
      loadConfig(
        { AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', AZURE_OPENAI_API_KEY: 'topsecret-key', PORT: 'x' },
        cwd,
      ),
    ).toThrow(/PORT/);
    try {
      loadConfig({ TWILIO_AUTH_TOKEN: 'abc', TWILIO_ACCOUNT_SID: 'bad' }, cwd);
    } catch (e) {
      expect(String(e)).not.toContain('abc');
    }
  });

  it('BRIDGE_SIGNING_SECRET: read, listed as a secret, too short → an error that does not quote it', () => {
    const secret = 'signing-secret-0123456789';
    const config = loadConfig({ BRIDGE_SIGNING_SECRET: secret }, cwd);
    expect(config.bridgeSigningSecret).toBe(secret);
    expect(configSecrets(config)).toContain(secret);
    expect(loadConfig({}, cwd).bridgeSigningSecret).toBeNull();
    expect(() => loadConfig({ BRIDGE_SIGNING_SECRET: 'short-one' }, cwd)).toThrow(
      /^BRIDGE_SIGNING_SECRET=\(secret value\) is shorter than 16 characters/,
    );
  });
});

describe('several instances (SPEC §14)', () => {
  it('DATABASE_URL selects PostgreSQL; its password is a secret; INSTANCE_ID defaults to host-pid', () => {
    expect(loadConfig({}, cwd).databaseUrl).toBeNull();
    const config = loadConfig({ DATABASE_URL: 'postgres://bridge:p%40ss-word@db:5432/bridge' }, cwd);
    expect(config.databaseUrl).toBe('postgres://bridge:p%40ss-word@db:5432/bridge');
    expect(configSecrets(config)).toContain('p@ss-word');
    expect(config.instanceId).toMatch(new RegExp(`-${process.pid}$`));
    expect(loadConfig({ INSTANCE_ID: 'bridge-2' }, cwd).instanceId).toBe('bridge-2');
  });
});
