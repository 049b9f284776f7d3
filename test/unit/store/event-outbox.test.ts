/**
 * The event outbox (SPEC §10) in SQLite: an event is written in the same transaction as the
 * record change that causes it, so the two can never disagree, and each call has one event
 * of each type however often its write is repeated.
 */
import { describe, expect, it } from 'vitest';

import { parseProfiles } from '../../../src/config/numbers.js';
import { CallsRepo, writes } from '../../../src/store/calls-repo.js';
import type { NewEvent } from '../../../src/store/events-repo.js';

const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);
const CALL = { callSid: 'CA1', from: '+15550001111', to: '+15551230001', profile: 'defaults', startedAtMs: T0 };

function event(id: string, type: NewEvent['type']): NewEvent {
  return { id, type, callSid: 'CA1', url: 'http://127.0.0.1:1/events', createdAtMs: T0, data: null };
}

describe('event outbox', () => {
  it('stores the event with the record change, and neither when the event cannot be written', () => {
    const repo = new CallsRepo(':memory:');
    repo.apply(writes.startCall(CALL, event('evt_s', 'call.started')));
    expect(repo.events.get('evt_s')).toMatchObject({ type: 'call.started', status: 'pending', attempts: 0 });

    // an event row the database refuses (NOT NULL url) takes the call's final write down with it
    const broken = { ...event('evt_e', 'call.ended'), url: null as unknown as string };
    expect(() => repo.apply(writes.finishCall('CA1', 'completed', null, T0 + 1_000, broken))).toThrow(/NOT NULL/);
    expect(repo.getCall('CA1')?.outcome).toBe('in_progress');
    expect(repo.events.get('evt_e')).toBeNull();

    repo.apply(writes.finishCall('CA1', 'completed', null, T0 + 1_000, event('evt_e', 'call.ended')));
    expect(repo.getCall('CA1')?.outcome).toBe('completed');
    // a second final write (the first outcome stands) queues no second call.ended
    repo.apply(writes.finishCall('CA1', 'error', null, T0 + 2_000, event('evt_e2', 'call.ended')));
    expect(repo.events.get('evt_e2')).toBeNull();
    expect(repo.events.list({ callSid: 'CA1', limit: 10 }).events.map((e) => e.id)).toEqual(['evt_e', 'evt_s']);
    // only a call's oldest pending event is due
    expect(repo.events.due(T0, 10).map((e) => e.id)).toEqual(['evt_s']);
    repo.close();
  });

  it('pages newest first with a cursor and filters by status', () => {
    const repo = new CallsRepo(':memory:');
    for (let i = 0; i < 5; i++) {
      const callSid = `CA${i}`;
      repo.apply(writes.startCall({ ...CALL, callSid }, { ...event(`evt_${i}`, 'call.started'), callSid }));
    }
    repo.apply({ name: 'eventAttempt', params: ['delivered', 0, T0, null, 'evt_3'] });
    const first = repo.events.list({ limit: 2 });
    expect(first.events.map((e) => e.id)).toEqual(['evt_4', 'evt_3']);
    const second = repo.events.list({ limit: 2, cursor: first.next });
    expect(second.events.map((e) => e.id)).toEqual(['evt_2', 'evt_1']);
    expect(repo.events.list({ limit: 10, status: 'delivered' }).events.map((e) => e.id)).toEqual(['evt_3']);
    expect(repo.events.pendingCount()).toBe(4);
    repo.close();
  });
});

describe('profile event fields', () => {
  it('inherit from defaults, and a schema Ajv cannot compile names the file and field', () => {
    const profiles = parseProfiles(
      [
        'defaults:',
        '  webhooks: { url: "https://crm.example/events" }',
        '  analysis: { instructions: Summarise., schema: { type: object } }',
        'numbers:',
        '  "+15551230001": { webhooks: { url: "https://crm.example/other", events: [call.ended] } }',
      ].join('\n'),
      '/srv/numbers.yaml',
    );
    expect(profiles.defaults.webhooks?.events).toEqual(['call.started', 'call.ended', 'call.analyzed']);
    const listed = profiles.byNumber.get('+15551230001')!;
    expect(listed.webhooks).toEqual({ url: 'https://crm.example/other', events: ['call.ended'] });
    expect(listed.analysis?.instructions).toBe('Summarise.');
    expect(() =>
      parseProfiles('defaults:\n  analysis: { instructions: x, schema: { type: banana } }\n', '/srv/numbers.yaml'),
    ).toThrow(/numbers\.yaml: defaults\.analysis\.schema: is not a valid JSON Schema/);
    expect(() =>
      parseProfiles('defaults:\n  webhooks: { url: "ftp://x", events: [call.ended] }\n', '/srv/numbers.yaml'),
    ).toThrow(/webhooks\.url/);
  });
});
