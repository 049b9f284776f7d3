/**
 * Custom HTTP tools and per-call context in the numbers file (SPEC §9, §10): the YAML of
 * SPEC §9 loads as written, everything checkable is checked at load with the field's path,
 * and a header secret read from the environment never shows in what the API or a recording sees.
 */
import { describe, expect, it } from 'vitest';

import { parseProfiles } from '../../../src/config/numbers.js';
import { recordedProfile } from '../../../src/recording/recorder.js';
import { ConfigError } from '../../../src/util/errors.js';

const FILE = '/etc/bridge/numbers.yaml';
const TOKEN = 'clinic-token-that-must-not-leak';
const ENV = { CLINIC_API_TOKEN: TOKEN };

const SPEC_YAML = `
defaults:
  tools:
    - hang_up
    - name: lookup_appointment
      description: Find the caller's next appointment by date of birth
      parameters:
        type: object
        properties: { date_of_birth: { type: string, description: "YYYY-MM-DD" } }
        required: [date_of_birth]
      http:
        url: https://clinic.example/voice-tools/lookup_appointment
        method: POST
        headers: { Authorization: "Bearer \${env:CLINIC_API_TOKEN}" }
        timeout_ms: 4000
      wait_message: One moment while I look that up.
      wait_after_ms: 1200
  mcp_servers:
    - label: crm
      url: http://127.0.0.1:8931/mcp
      via: bridge
  context_url: https://clinic.example/voice-context
numbers:
  "+15551230001":
    instructions: Own line.
  "+15551230002":
    tools:
      - name: ping
        http: { url: "http://127.0.0.1:9/ping", method: GET }
    context_timeout_ms: 800
`;

function loadError(yaml: string, env: NodeJS.ProcessEnv = ENV): ConfigError {
  try {
    parseProfiles(yaml, FILE, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const tool = (extra: string) => `
defaults:
  tools:
    - name: lookup
      http: { url: "https://x.example/lookup" }
${extra}`;

describe('custom tools in the numbers file', () => {
  it("loads SPEC §9's YAML: built-ins and custom tools, defaults filled, inherited by numbers", () => {
    const profiles = parseProfiles(SPEC_YAML, FILE, ENV);
    const d = profiles.defaults;
    expect(d.tools).toEqual(['hang_up']);
    expect(d.customTools).toHaveLength(1);
    const t = d.customTools![0]!;
    expect(t).toMatchObject({
      name: 'lookup_appointment',
      description: "Find the caller's next appointment by date of birth",
      parameters: { type: 'object', required: ['date_of_birth'] },
      http: {
        url: 'https://clinic.example/voice-tools/lookup_appointment',
        method: 'POST',
        timeoutMs: 4000,
      },
      waitMessage: 'One moment while I look that up.',
      waitAfterMs: 1200,
    });
    expect(t.resolvedHeaders()).toEqual({ Authorization: `Bearer ${TOKEN}` });
    expect(d.contextUrl).toBe('https://clinic.example/voice-context');
    expect(d.contextTimeoutMs).toBe(1500);
    // inherited as a whole, like other fields
    expect(profiles.byNumber.get('+15551230001')!.customTools!.map((c) => c.name)).toEqual(['lookup_appointment']);
    const own = profiles.byNumber.get('+15551230002')!;
    expect(own.tools).toEqual([]);
    expect(own.customTools![0]).toMatchObject({
      name: 'ping',
      http: { method: 'GET', timeoutMs: 5000 },
      waitMessage: null,
      waitAfterMs: 1500,
      parameters: { type: 'object', properties: {} },
    });
    expect(own.contextTimeoutMs).toBe(800);
    expect(own.contextUrl).toBe('https://clinic.example/voice-context');
  });

  it('the header secret stays out of JSON: the API and recordings show the ${env:…} reference', () => {
    const profiles = parseProfiles(SPEC_YAML, FILE, ENV);
    const json = JSON.stringify({ d: profiles.defaults, r: recordedProfile(profiles.defaults) });
    expect(json).not.toContain(TOKEN);
    expect(json).toContain('Bearer ${env:CLINIC_API_TOKEN}');
  });

  it('an unset ${env:NAME} is a configuration error naming file, field and variable', () => {
    const err = loadError(SPEC_YAML, {});
    expect(err.where).toBe(`${FILE}: defaults.tools[1].http.headers.Authorization`);
    expect(err.message).toBe(
      'numbers.yaml: defaults.tools[1].http.headers.Authorization: ${env:CLINIC_API_TOKEN} names ' +
        'CLINIC_API_TOKEN, which is not set. Fix: set CLINIC_API_TOKEN in the environment',
    );
  });

  it.each([
    [
      'a bad name',
      tool('').replace('name: lookup', 'name: "look up"'),
      'defaults.tools[0].name: "look up" must be 1 to 64',
    ],
    ['a name of 65 characters', tool('').replace('name: lookup', `name: ${'a'.repeat(65)}`), 'defaults.tools[0].name'],
    [
      'a duplicate name',
      tool('    - name: lookup\n      http: { url: "https://x.example/2" }'),
      'defaults.tools[1].name: "lookup" is already a tool of this profile',
    ],
    [
      'a custom tool named like a built-in',
      tool('    - hang_up\n    - name: hang_up\n      http: { url: "https://x.example/2" }'),
      'defaults.tools[2].name: "hang_up" is already a tool of this profile',
    ],
    ['an unknown built-in', tool('    - fly_away'), 'defaults.tools[1]: "fly_away" is not a built-in tool'],
    [
      'parameters not of type object',
      tool('      parameters: { type: string }'),
      'defaults.tools[0].parameters: {"type":"string"} must be a JSON Schema with type: object',
    ],
    [
      'parameters Ajv cannot compile',
      tool('      parameters: { type: object, properties: { a: { type: 12 } } }'),
      'defaults.tools[0].parameters: is not a valid JSON Schema',
    ],
    ['a timeout over 30 s', tool('').replace('lookup" }', 'lookup", timeout_ms: 30001 }'), 'http.timeout_ms: 30001'],
    ['a method other than POST/GET', tool('').replace('lookup" }', 'lookup", method: PUT }'), 'must be POST or GET'],
    ['a URL that is not http(s)', tool('').replace('https://x.example/lookup', 'ftp://x/y'), 'is not an http(s) URL'],
    ['an unknown field', tool('      retries: 3'), 'defaults.tools[0].retries: is not a known field'],
    ['a bad context_url', tool('  context_url: nowhere'), 'defaults.context_url: "nowhere" is not an http(s) URL'],
  ])('refuses %s, naming the field', (_what, yaml, message) => {
    expect(loadError(yaml).message).toContain(message);
  });
});
