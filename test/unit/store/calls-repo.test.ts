import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { CallsRepo } from '../../../src/store/calls-repo.js';
import { tempDir } from '../../support/tmp.js';

const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);

function seed(repo: CallsRepo, n: number, to = '+15551230001'): string[] {
  const sids: string[] = [];
  for (let i = 0; i < n; i++) {
    const callSid = `CA${String(i).padStart(32, '0')}`;
    repo.startCall({
      callSid,
      from: '+15550001111',
      to: i % 2 === 0 ? to : '+15551230002',
      profile: to,
      startedAtMs: T0 + i * 60_000,
    });
    sids.push(callSid);
  }
  return sids;
}

describe('CallsRepo', () => {
  it('a call row at start, turns as they come, finalised at the end', () => {
    const repo = new CallsRepo(':memory:');
    const [sid] = seed(repo, 1);
    expect(repo.getCall(sid!)).toMatchObject({ outcome: 'in_progress', endedAt: null, turns: [], bargeIns: 0 });
    repo.addTurn(sid!, { role: 'assistant', text: 'Thanks for calling.', truncated: false, atMs: T0 + 1000 });
    repo.addTurn(sid!, { role: 'caller', text: 'Hi, I would like…', truncated: false, atMs: T0 + 4000 });
    repo.addBargeIn(sid!);
    repo.addLatency(sid!, 812.4, false);
    repo.addLatency(sid!, 640, true);
    repo.finishCall(sid!, 'completed', null, T0 + 30_000);
    repo.finishCall(sid!, 'error', 'late', T0 + 40_000); // the first outcome wins
    expect(repo.getCall(sid!)).toEqual({
      callSid: sid,
      from: '+15550001111',
      to: '+15551230001',
      profile: '+15551230001',
      direction: 'inbound',
      startedAt: '2026-11-25T10:00:00.000Z',
      endedAt: '2026-11-25T10:00:30.000Z',
      outcome: 'completed',
      detail: null,
      reason: null,
      durationMs: 30_000,
      bargeIns: 1,
      latency: { firstAudioMs: 812, responseMs: [640] },
      turns: [
        { role: 'assistant', text: 'Thanks for calling.', at: '2026-11-25T10:00:01.000Z', truncated: false },
        { role: 'caller', text: 'Hi, I would like…', at: '2026-11-25T10:00:04.000Z', truncated: false },
      ],
      tools: [],
      context: null,
      statusEvents: [],
      analysis: null,
    });
  });

  it('tool calls: listed in the order the model made them, whatever order they finished in', () => {
    const repo = new CallsRepo(':memory:');
    const [sid] = seed(repo, 1);
    // a slow lookup called first finishes after a quick one called second
    repo.addToolCall(sid!, { name: 'quick', arguments: { a: 1 }, ok: true, ms: 40, atMs: T0 + 2_010 });
    repo.addToolCall(sid!, { name: 'slow', arguments: null, ok: false, ms: 4_000, atMs: T0 + 2_000 });
    repo.addToolCall(sid!, { name: 'huge', arguments: { x: 'y'.repeat(5_000) }, ok: true, ms: 1, atMs: T0 + 9_000 });
    repo.addToolCall(sid!, { name: 'crm_find', arguments: {}, ok: true, ms: 90, atMs: T0 + 9_500, via: 'model' });
    expect(repo.getCall(sid!)!.tools).toEqual([
      { name: 'slow', arguments: null, ok: false, ms: 4_000, via: 'bridge', at: '2026-11-25T10:00:02.000Z' },
      { name: 'quick', arguments: { a: 1 }, ok: true, ms: 40, via: 'bridge', at: '2026-11-25T10:00:02.010Z' },
      // too long to keep whole: stored as null rather than cut into invalid JSON
      { name: 'huge', arguments: null, ok: true, ms: 1, via: 'bridge', at: '2026-11-25T10:00:09.000Z' },
      { name: 'crm_find', arguments: {}, ok: true, ms: 90, via: 'model', at: '2026-11-25T10:00:09.500Z' },
    ]);
  });

  it('the per-call context outcome: stored once, reason cut short', () => {
    const repo = new CallsRepo(':memory:');
    const [sid] = seed(repo, 1);
    repo.setContext(sid!, { ok: false, ms: 300.4, error: 'x'.repeat(500) });
    expect(repo.getCall(sid!)!.context).toEqual({ ok: false, ms: 300, error: 'x'.repeat(200) });
  });

  it('pages newest first with a cursor, and filters by number and date', () => {
    const repo = new CallsRepo(':memory:');
    const sids = seed(repo, 7);
    const first = repo.listCalls({ limit: 3 });
    expect(first.calls.map((c) => c.callSid)).toEqual([sids[6], sids[5], sids[4]]);
    const second = repo.listCalls({ limit: 3, cursor: first.next });
    expect(second.calls.map((c) => c.callSid)).toEqual([sids[3], sids[2], sids[1]]);
    const third = repo.listCalls({ limit: 3, cursor: second.next });
    expect(third.calls.map((c) => c.callSid)).toEqual([sids[0]]);
    expect(third.next).toBeNull();
    expect(repo.listCalls({ limit: 10, to: '+15551230002' }).calls).toHaveLength(3);
    expect(
      repo.listCalls({ limit: 10, sinceMs: T0 + 2 * 60_000, untilMs: T0 + 4 * 60_000 }).calls.map((c) => c.callSid),
    ).toEqual([sids[3], sids[2]]);
  });

  it('rows left in progress by a crash are marked incomplete when the store reopens, turns kept', () => {
    const file = path.join(tempDir(), 'calls.sqlite');
    const a = new CallsRepo(file);
    const [sid] = seed(a, 1);
    a.addTurn(sid!, { role: 'caller', text: 'Hello?', truncated: false, atMs: T0 + 500 });
    // no close(): the process "dies" here
    const b = new CallsRepo(file);
    expect(b.markAbandoned()).toBe(1);
    expect(b.getCall(sid!)).toMatchObject({ outcome: 'incomplete', turns: [{ role: 'caller', text: 'Hello?' }] });
    expect(b.markAbandoned()).toBe(0);
    b.close();
  });

  it('status callbacks are kept against the call', () => {
    const repo = new CallsRepo(':memory:');
    const [sid] = seed(repo, 1);
    repo.addStatusEvent(sid!, { kind: 'stream', status: 'stream-started', detail: null, atMs: T0 + 100 });
    repo.addStatusEvent(sid!, { kind: 'call', status: 'completed', detail: '31', atMs: T0 + 31_000 });
    expect(repo.getCall(sid!)!.statusEvents.map((s) => [s.kind, s.status, s.detail])).toEqual([
      ['stream', 'stream-started', null],
      ['call', 'completed', '31'],
    ]);
  });
});
