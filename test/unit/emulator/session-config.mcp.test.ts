/**
 * `type: "mcp"` tools in the emulator's `session.update` (PROTOCOLS.md §10.3): GA only, as
 * upstream; what the emulator cannot play (connectors, approvals) is refused by name.
 */
import { describe, expect, it } from 'vitest';

import { applySessionUpdate, defaultSessionState } from '../../../src/emulator/session-config.js';

const state = defaultSessionState({ id: 'sess_1', model: 'gpt-realtime', expiresAtS: 0 });
const mcp = { type: 'mcp', server_label: 'crm', server_url: 'http://127.0.0.1:1/mcp', require_approval: 'never' };

describe('emulator session.update with an MCP tool', () => {
  it('GA keeps it among the tools', () => {
    const result = applySessionUpdate(state, { type: 'realtime', tools: [mcp] }, 'ga', false);
    expect(result.ok && result.state.ga.tools).toEqual([mcp]);
  });

  it('beta has no such tool type: invalid_value naming the field', () => {
    const result = applySessionUpdate(state, { tools: [mcp] }, 'beta', false);
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_value', param: 'session.tools[0].type' } });
  });

  it('approvals and connectors are refused as not emulated; a missing label is named', () => {
    for (const tool of [
      { ...mcp, require_approval: 'always' },
      { type: 'mcp', server_label: 'gmail', connector_id: 'connector_gmail' },
      { type: 'mcp', server_url: 'http://127.0.0.1:1/mcp' },
    ]) {
      const result = applySessionUpdate(state, { type: 'realtime', tools: [tool] }, 'ga', false);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.param).toMatch(/^session\.tools\[0\]/);
    }
  });
});
