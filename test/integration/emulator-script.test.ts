/**
 * The scripted emulator end to end: on the caller's 1st turn it calls two HTTP tools in one
 * response; the bridge runs them concurrently against a real local backend and asks for one
 * `response.create` only once both outputs are in, and the emulator then speaks the script's
 * clip.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { parseEmulatorScript, scriptResponder } from '../../src/emulator/script.js';
import { callerClip, silence, startCallHarness, until } from '../support/call-harness.js';
import { startToolBackend } from '../support/tool-backend.js';

const backend = await startToolBackend();
backend.on('/fast', (_req, res) => {
  setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"fast":true}'), 200);
});
backend.on('/slow', (_req, res) => {
  setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"slow":true}'), 900);
});

const NUMBERS = `
defaults:
  instructions: Script line.
  voice: alloy
  tools:
    - name: fast_lookup
      http: { url: "${backend.url}/fast" }
    - name: slow_lookup
      http: { url: "${backend.url}/slow" }
`;

const SCRIPT = parseEmulatorScript(
  `
turns:
  - turn: 1
    call:
      - { name: slow_lookup, arguments: { q: 1 }, call_id: call_slow }
      - { name: fast_lookup, arguments: { q: 2 }, call_id: call_fast }
    then: reply
`,
  'script.yaml',
);

describe('scripted emulator', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS, emulator: { responder: scriptResponder(SCRIPT) } });
  afterEach(async () => {
    await until(() => h.bridge.activeCalls === 0, 10_000, 'the calls to end');
  });

  it('two concurrent calls in one response → one response.create after both outputs', { timeout: 30_000 }, async () => {
    const sessionP = h.emulator.nextSession();
    const phone = h.phone({
      to: '+15551230001',
      from: '+15557654321',
      callerAudio: Buffer.concat([silence(300), callerClip('caller_hours.ulaw8k.wav'), silence(8_000)]),
    });
    await phone.dial();
    const session = await sessionP;
    const isOutput = (id: string) => (r: { wire: Record<string, unknown> }) =>
      (r.wire['item'] as { call_id?: string } | undefined)?.call_id === id;
    const slowOut = await session.waitForReceived('conversation.item.create', isOutput('call_slow'));
    const fastAt = session.received.findIndex(isOutput('call_fast'));
    const slowAt = session.received.indexOf(slowOut);
    expect(fastAt).toBeGreaterThanOrEqual(0);
    expect(fastAt).toBeLessThan(slowAt);
    // both requests were in flight together
    const [slowReq, fastReq] = [backend.to('/slow')[0]!, backend.to('/fast')[0]!];
    expect(Math.abs(slowReq.atMs - fastReq.atMs)).toBeLessThan(150);
    await session.waitForReceived('response.create', (r) => session.received.indexOf(r) > slowAt);
    const creates = session.received.filter((r, i) => r.type === 'response.create' && i > fastAt);
    expect(creates).toHaveLength(1);
    expect(session.received.indexOf(creates[0]!)).toBeGreaterThan(slowAt);
    await phone.hangUp();
  });

  it('the example script (README) parses', () => {
    const file = path.join(import.meta.dirname, '../../examples/emulator-script.yaml');
    expect(parseEmulatorScript(readFileSync(file, 'utf8'), file).turns[0]).toMatchObject({
      turn: 1,
      call: [{ name: 'lookup_appointment' }],
      then: 'done',
    });
  });

  it('a script with a bad field is a configuration error naming file and field', () => {
    expect(() => parseEmulatorScript('turns:\n  - { turn: 0, call: [{ name: x }] }\n', 's.yaml')).toThrow(
      /s\.yaml: turns\[0\]\.turn: /,
    );
  });
});
