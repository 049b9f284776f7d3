/**
 * HTTP tool round trip through the bridge's own code (SPEC §9): plan (argument check, body,
 * signature) → fetch → output, 200 calls after 20 warm-up ones, against a node:http backend on
 * loopback that answers at once. Then the burst: 50 tool jobs started in one tick (as 50 calls'
 * tools might be) against a backend that answers after 300 ms, while a 20 ms timer stands in
 * for the media frames of other calls: how late the timer fires (the event-loop stall the burst
 * causes), worst of each of 10 rounds. Run: `npm run bench -- tools`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

import { parseProfiles } from '../src/config/numbers.js';
import { httpTool } from '../src/call/tools/http-tool.js';
import type { CallInfo } from '../src/call/tools/tool.js';

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
  process.stdout.write(
    `round trip: n=${ms.length} p50=${q(0.5)} ms p99=${q(0.99)} ms max=${ms.at(-1)!.toFixed(2)} ms\n`,
  );
  server.close();
  await burst(yaml.replace('/t"', '/slow"'), call);
  return 0;
}

/** 50 jobs started in one tick, 10 rounds: the latest a 20 ms frame timer fired meanwhile. */
async function burst(yamlTemplate: string, call: CallInfo): Promise<void> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'), 300),
    );
  });
  server.maxConnections = 1_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', 511, r));
  const port = (server.address() as AddressInfo).port;
  const yaml = yamlTemplate.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`);
  const profile = parseProfiles(yaml, '/tmp/n.yaml', {}).defaults;
  const entry = httpTool(profile.customTools![0]!, { signingSecret: 'x'.repeat(32), now: () => Date.now() });
  // the same rounds with no job (a 350 ms wait instead): the lateness the machine gives anyway
  const idle = await rounds(async () => {
    await new Promise((r) => setTimeout(r, 350));
  });
  const allIn: number[] = [];
  const busy = await rounds(async (round) => {
    const t0 = performance.now();
    const runs: Promise<string>[] = [];
    for (let i = 0; i < 50; i++) {
      const plan = entry.plan({ a: 'x' }, { profile, canUseRest: false, toolCallId: `b${round}_${i}`, call });
      if (plan.kind !== 'job') throw new Error('not a job');
      runs.push(plan.run());
    }
    const outs = await Promise.all(runs);
    if (round > 0) allIn.push(performance.now() - t0);
    if (outs.some((o) => !o.includes('"ok":true'))) throw new Error(outs.find((o) => !o.includes('"ok":true')));
  });
  allIn.sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(1);
  const line = (what: string, worst: number[]) =>
    `${what}: frame timer lateness per round median ${f(worst[5]!)} ms, max ${f(worst.at(-1)!)} ms ` +
    `(all: ${worst.map(f).join(' ')})\n`;
  process.stdout.write(
    line('no jobs', idle) +
      line('burst of 50 jobs', busy) +
      `burst: all 50 outputs in after median ${f(allIn[5]!)} ms (backend answers after 300 ms)\n`,
  );
  server.closeAllConnections();
  server.close();
}

/** 11 rounds of `work` (the first a warm-up) under a 20 ms frame timer: each round's worst lateness, sorted. */
async function rounds(work: (round: number) => Promise<void>): Promise<number[]> {
  const worst: number[] = [];
  for (let round = 0; round < 11; round++) {
    let late = 0;
    let due = performance.now() + 20;
    const frames = setInterval(() => {
      const now = performance.now();
      late = Math.max(late, now - due);
      due = now + 20;
    }, 20);
    // let the frame timer settle, then start the round's work in one tick
    await new Promise((r) => setTimeout(r, 45));
    await work(round);
    clearInterval(frames);
    if (round > 0) worst.push(late);
  }
  return worst.sort((a, b) => a - b);
}
