import { describe, expect, it } from 'vitest';

import { applyContext, fillPlaceholders, parseContextAnswer } from '../../../src/call/call-context.js';
import { functionName } from '../../../src/call/tools/mcp-tools.js';
import { checkMcpServersForDialect, parseProfiles } from '../../../src/config/numbers.js';

const profile = parseProfiles(
  'defaults: { instructions: "Line for {{caller_number}}.", greeting: Hello. }',
  'n.yaml',
  {},
).defaults;

describe('per-call context', () => {
  it('fills {{name}} from the variables; a placeholder with no value becomes empty', () => {
    expect(fillPlaceholders('Hi {{ first_name }}, {{missing}}!', { first_name: 'Ada' })).toBe('Hi Ada, !');
  });

  it('appends instructions, replaces the greeting, fills both', () => {
    const vars = { caller_number: '+1555', first_name: 'Ada' };
    const answer = { variables: {}, instructions: 'Caller is {{first_name}}.', greeting: 'Hi {{first_name}}.' };
    const applied = applyContext(profile, answer, vars);
    expect(applied.instructions).toBe('Line for +1555.\n\nCaller is Ada.');
    expect(applied.greeting).toBe('Hi Ada.');
    expect(applyContext(profile, null, vars)).toMatchObject({ instructions: 'Line for +1555.', greeting: 'Hello.' });
  });

  it("an outbound call's greeting and voicemail message are filled too (dial request variables)", () => {
    const outbound = {
      greeting: 'Hi {{name}}, Example Dental here.',
      machineDetection: 'voicemail' as const,
      voicemailMessage: 'Call us, {{name}}.',
    };
    const applied = applyContext({ ...profile, outbound }, null, { name: 'Ann' });
    expect(applied.outbound).toEqual({
      ...outbound,
      greeting: 'Hi Ann, Example Dental here.',
      voicemailMessage: 'Call us, Ann.',
    });
  });

  it('checks the answer: variables as strings, wrong types refused with a short reason', () => {
    expect(parseContextAnswer('{"variables":{"a":"x","n":3,"o":{}},"greeting":""}')).toEqual({
      variables: { a: 'x', n: '3' },
      instructions: null,
      greeting: null,
    });
    expect(parseContextAnswer('not json')).toBe('the context service answered with invalid JSON');
    expect(parseContextAnswer('[1]')).toBe('the context service answered with something other than a JSON object');
    expect(parseContextAnswer('{"instructions": 5}')).toBe('instructions is not a string');
  });
});

describe('MCP tool names as function names', () => {
  it('valid names stay; dots and over-long names are mapped, unique among the taken ones', () => {
    expect(functionName('find_customer', new Set())).toBe('find_customer');
    expect(functionName('orders.lookup', new Set())).toBe('orders_lookup');
    expect(functionName('orders.lookup', new Set(['orders_lookup']))).toBe('orders_lookup_2');
    expect(functionName('hang_up', new Set(['hang_up']))).toBe('hang_up_2');
    const long = functionName('x'.repeat(100), new Set());
    expect(long).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });
});

describe('MCP servers in a profile', () => {
  const yaml = (server: string) => `defaults:\n  mcp_servers:\n    - ${server}\n`;

  it('reads the header variable at load; an unset one is an error naming the field and variable', () => {
    const ok = parseProfiles(
      yaml('{ label: crm, url: "http://127.0.0.1:1/mcp", headers: { A: "${env:T}" } }'),
      'n.yaml',
      {
        T: 'tok',
      },
    );
    expect(ok.defaults.mcpServers![0]!.resolvedHeaders()).toEqual({ A: 'tok' });
    expect(JSON.stringify(ok.defaults)).not.toContain('tok"');
    expect(() =>
      parseProfiles(yaml('{ label: crm, url: "http://127.0.0.1:1/mcp", headers: { A: "${env:T}" } }'), 'n.yaml', {}),
    ).toThrow(/defaults\.mcp_servers\[0\]\.headers\.A: .*T/);
  });

  it('via: model is kept for the GA dialect and refused for beta, naming the field', () => {
    const text = yaml('{ label: crm, url: "https://crm.example/mcp", via: model }');
    expect(parseProfiles(text, 'n.yaml', {}).defaults.mcpServers![0]!.via).toBe('model');
    expect(() => checkMcpServersForDialect(parseProfiles(text, 'n.yaml', {}), 'beta')).toThrow(
      /^n\.yaml: defaults\.mcp_servers\[0\]\.via: "model" needs the GA realtime dialect/,
    );
  });
});
