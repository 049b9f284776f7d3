/**
 * The call store contract (hono `common.case.test.ts` style): ONE suite that every engine
 * behind {@link CallStore} must pass, SQLite and PostgreSQL alike (SPEC §3, §10, §14). It
 * talks only through the interface the bridge uses: fire-and-forget writes, then reads.
 */
import { describe, expect, it } from 'vitest';

import type { CallStore } from '../../src/store/call-store.js';
import type { NewEvent } from '../../src/store/events-repo.js';

/** A fresh, empty store; `close` releases it (and whatever holds its data). */
export type CallStoreFactory = () => Promise<{ store: CallStore; close: () => Promise<void> }>;

const T0 = Date.UTC(2026, 11, 8, 9, 0, 0);
const sid = (i: number) => `CA${String(i).padStart(32, '0')}`;
const call = (i: number, to = '+15551230001') => ({
  callSid: sid(i),
  from: '+15550001111',
  to,
  profile: to,
  startedAtMs: T0 + i * 1_000,
});
const event = (id: string, type: NewEvent['type'], callSid: string, atMs = T0): NewEvent => ({
  id,
  type,
  callSid,
  url: 'http://127.0.0.1:1/events',
  createdAtMs: atMs,
  data: type === 'call.ended' ? null : { n: 1 },
});

export function callStoreContract(engine: string, open: CallStoreFactory): void {
  describe(`call store contract: ${engine}`, () => {
    const withStore = async (fn: (store: CallStore) => Promise<void>) => {
      const { store, close } = await open();
      try {
        await fn(store);
      } finally {
        await close();
      }
    };

    it('keeps every write of a call, in order, and the first outcome', () =>
      withStore(async (store) => {
        store.startCall(call(1));
        store.addTurn(sid(1), { role: 'assistant', text: 'Hello', truncated: false, atMs: T0 + 1_100 });
        store.addLatency(sid(1), 412.4, false);
        store.addTurn(sid(1), { role: 'caller', text: 'Hi ' + 'x'.repeat(9_000), truncated: false, atMs: T0 + 2_000 });
        store.addLatency(sid(1), 640, true);
        store.addLatency(sid(1), 700, true);
        store.addBargeIn(sid(1));
        store.addTurn(sid(1), { role: 'assistant', text: 'Sure', truncated: true, atMs: T0 + 3_000 });
        store.addToolCall(sid(1), { name: 'lookup', arguments: { id: 7 }, ok: true, ms: 12.6, atMs: T0 + 2_500 });
        store.addStatusEvent(sid(1), { kind: 'call', status: 'in-progress', detail: null, atMs: T0 + 1_050 });
        store.setContext(sid(1), { ok: false, ms: 80, error: 'timeout' });
        store.finishCall(sid(1), 'caller_hung_up', null, T0 + 5_000);
        store.finishCall(sid(1), 'error', 'late', T0 + 6_000);
        expect(await store.flush(2_000)).toBe(true);

        const record = await store.getCall(sid(1));
        expect(record).toMatchObject({
          callSid: sid(1),
          from: '+15550001111',
          to: '+15551230001',
          outcome: 'caller_hung_up',
          durationMs: 4_000,
          bargeIns: 1,
          latency: { firstAudioMs: 412, responseMs: [640, 700] },
          context: { ok: false, ms: 80, error: 'timeout' },
          tools: [{ name: 'lookup', arguments: { id: 7 }, ok: true, ms: 13, via: 'bridge' }],
          statusEvents: [{ kind: 'call', status: 'in-progress', detail: null }],
          analysis: null,
        });
        expect(record!.turns.map((t) => [t.role, t.text.length, t.truncated])).toEqual([
          ['assistant', 5, false],
          ['caller', 8_000, false],
          ['assistant', 4, true],
        ]);
        expect(await store.getCall(sid(99))).toBeNull();
      }));

    it('lists newest first, by number, page by page', () =>
      withStore(async (store) => {
        for (let i = 1; i <= 5; i++) store.startCall(call(i, i % 2 === 0 ? '+15551230002' : '+15551230001'));
        const first = await store.listCalls({ limit: 2 });
        expect(first.calls.map((c) => c.callSid)).toEqual([sid(5), sid(4)]);
        const second = await store.listCalls({ limit: 2, cursor: first.next });
        expect(second.calls.map((c) => c.callSid)).toEqual([sid(3), sid(2)]);
        const last = await store.listCalls({ limit: 2, cursor: second.next });
        expect(last).toEqual({ calls: [expect.objectContaining({ callSid: sid(1) })], next: null });
        const to2 = await store.listCalls({ limit: 10, to: '+15551230002' });
        expect(to2.calls.map((c) => c.callSid)).toEqual([sid(4), sid(2)]);
        const window = await store.listCalls({ limit: 10, sinceMs: T0 + 2_000, untilMs: T0 + 4_000 });
        expect(window.calls.map((c) => c.callSid)).toEqual([sid(3), sid(2)]);
      }));

    it('stores events with their record change, one per type, due oldest first per call', () =>
      withStore(async (store) => {
        store.startCall(call(1), event('evt_1s', 'call.started', sid(1)));
        store.startCall(call(2), event('evt_2s', 'call.started', sid(2)));
        store.finishCall(sid(1), 'completed', null, T0 + 3_000, event('evt_1e', 'call.ended', sid(1)));
        // a repeated final write queues no second call.ended
        store.finishCall(sid(1), 'error', null, T0 + 4_000, event('evt_1x', 'call.ended', sid(1)));
        expect(await store.pendingEvents()).toBe(3);
        expect(await store.getEvent('evt_1x')).toBeNull();
        expect((await store.dueEvents(T0, 10)).map((e) => e.id).sort()).toEqual(['evt_1s', 'evt_2s']);
        expect(await store.nextEventDueMs()).toBe(T0);

        store.recordAttempt('evt_1s', { status: 'delivered', atMs: T0 + 10 });
        store.recordAttempt('evt_2s', { status: 'pending', nextMs: T0 + 60_000, error: 'HTTP 500' });
        const due = await store.dueEvents(T0 + 20, 10);
        expect(due.map((e) => [e.id, e.data])).toEqual([['evt_1e', null]]);
        store.setEventData('evt_1e', { outcome: 'completed' });
        store.setEventData('evt_1e', { outcome: 'changed' });
        expect((await store.dueEvents(T0 + 20, 10))[0]?.data).toEqual({ outcome: 'completed' });
        store.recordAttempt('evt_1e', { status: 'failed', error: 'HTTP 410' });
        expect(await store.nextEventDueMs()).toBe(T0 + 60_000);

        expect(await store.getEvent('evt_2s')).toMatchObject({ status: 'pending', attempts: 1, lastError: 'HTTP 500' });
        const listed = await store.listEvents({ limit: 2 });
        expect(listed.events.map((e) => e.id)).toEqual(['evt_1e', 'evt_2s']);
        expect((await store.listEvents({ limit: 2, cursor: listed.next })).events.map((e) => e.id)).toEqual(['evt_1s']);
        expect((await store.listEvents({ limit: 10, status: 'failed' })).events.map((e) => e.id)).toEqual(['evt_1e']);

        store.redeliverEvent('evt_1e', T0 + 30_000);
        store.resumeEvents(T0 + 40_000);
        expect(await store.pendingEvents()).toBe(2);
        expect(await store.nextEventDueMs()).toBe(T0 + 40_000);
      }));

    it('remembers an outbound call by its Idempotency-Key, the first call per key', () =>
      withStore(async (store) => {
        store.startCall({ ...call(1), direction: 'outbound' });
        store.rememberOutbound('key-1', sid(1), T0);
        store.rememberOutbound('key-1', sid(2), T0 + 1);
        expect(await store.outboundCallForKey('key-1')).toBe(sid(1));
        expect(await store.outboundCallForKey('key-2')).toBeNull();
        expect((await store.getCall(sid(1)))?.direction).toBe('outbound');
        store.startCall(call(3));
        expect((await store.getCall(sid(3)))?.direction).toBe('inbound');
      }));

    it('keeps the analysis with its event', () =>
      withStore(async (store) => {
        store.startCall(call(1));
        store.storeAnalysis(
          sid(1),
          { summary: 'asked about hours', data: { intent: 'hours' }, valid: true },
          event('evt_a', 'call.analyzed', sid(1)),
        );
        expect((await store.getCall(sid(1)))?.analysis).toEqual({
          summary: 'asked about hours',
          data: { intent: 'hours' },
          valid: true,
        });
        expect(await store.getEvent('evt_a')).toMatchObject({ type: 'call.analyzed', status: 'pending' });
      }));
  });
}
