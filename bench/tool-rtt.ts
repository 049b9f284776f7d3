/**
 * HTTP tool round trip through the bridge's own code (SPEC §9): plan (argument check, body,
 * signature) → fetch → output, 200 calls after 20 warm-up ones, against a node:http backend on
 * loopback that answers at once. Run: `npm run bench -- tools`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

import { parseProfiles } from '../src/config/numbers.js';
import { httpTool } from '../src/call/tools/http-tool.js';

/** The bench runner (`npm run bench -- tools`). */
export async function runToolBench(): Promise<number> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"slot":"9:00"}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/t`;
  const yaml = [
    'defaults:',
    '  tools:',
    '    - name: t',
    '      parameters: { type: object, properties: { a: { type: string } }, required: [a] }',
    `      http: { url: "${url}" }`,
    '',
  ].join('\n');
  const profile = parseProfiles(yaml, '/tmp/n.yaml', {}).defaults;
  const entry = httpTool(profile.customTools![0]!, { signingSecret: 'x'.repeat(32), now: () => Date.now() });
  const call = {
    callSid: 'CA1',
    from: '+1',
    to: '+2',
    profile: 'defaults',
    direction: 'inbound' as const,
    variables: {},
  };
  const ms: number[] = [];
  for (let i = 0; i < 220; i++) {
    const t0 = performance.now();
    const plan = entry.plan({ a: 'x' }, { profile, canUseRest: false, toolCallId: `call_${i}`, call });
    if (plan.kind !== 'job') throw new Error('not a job');
    const out = await plan.run();
    if (!out.includes('slot')) throw new Error(out);
    if (i >= 20) ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!.toFixed(2);
  process.stdout.write(`n=${ms.length} p50=${q(0.5)} ms p99=${q(0.99)} ms max=${ms.at(-1)!.toFixed(2)} ms\n`);
  server.close();
  return 0;
}
