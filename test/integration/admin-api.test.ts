/**
 * Call records, the admin API and metrics (issue #7): records with both sides' transcripts,
 * paging and filters, bearer auth, profile edits through PUT /api/numbers, and /metrics as
 * valid Prometheus text whose counters move during a call.
 */
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { callerClip, silence, startCallHarness, until } from '../support/call-harness.js';

const ADMIN_TOKEN = 'admin-token-for-tests-42';
const NUMBERS = `defaults:
  instructions: Admin API test line.
  voice: alloy
  greeting: Thanks for calling!
  transcription: { model: whisper-1 }
numbers:
  "+15551230001":
    voice: verse
`;

/** Strict Prometheus text format (exposition format 0.0.4): every line a comment or a sample. */
function assertPrometheusText(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const metricName = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const labels =
    `\\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\.)*"` +
    `(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\.)*")*,?)?\\}`;
  const value = '(?:[+-]?(?:\\d+\\.?\\d*(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?)|[+-]?Inf|NaN)';
  const sample = new RegExp(`^(${metricName})(${labels})? (${value})(?: -?\\d+)?$`);
  const help = new RegExp(`^# HELP ${metricName} .*$`);
  const type = new RegExp(`^# TYPE ${metricName} (counter|gauge|histogram|summary|untyped)$`);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      expect(help.test(line) || type.test(line), `bad comment line: ${line}`).toBe(true);
      continue;
    }
    const m = sample.exec(line);
    expect(m, `bad sample line: ${line}`).not.toBeNull();
    samples.set(`${m![1]}${m![2] ?? ''}`, Number(m![3]!.replace('Inf', 'Infinity')));
  }
  return samples;
}

describe('admin API and metrics', async () => {
  const h = await startCallHarness({ numbersYaml: NUMBERS, env: { ADMIN_TOKEN } });
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const api = (p: string, init: RequestInit = {}) =>
    fetch(`${h.url}${p}`, { ...init, headers: { ...auth, ...(init.headers ?? {}) } });

  it(
    'a call shows up with both sides of the transcript and its outcome; counters moved',
    { timeout: 15_000 },
    async () => {
      const before = assertPrometheusText(await (await fetch(`${h.url}/metrics`)).text());
      const sessionP = h.emulator.nextSession();
      const phone = h.phone({
        to: '+15551230001',
        callerAudio: Buffer.concat([silence(5_500), callerClip('caller_hours.ulaw8k.wav'), silence(3_000)]),
        timeScale: 2,
      });
      await phone.dial();
      const model = await sessionP;
      await model.waitForSent('conversation.item.input_audio_transcription.completed');
      await until(() => model.sent.filter((r) => r.type === 'response.done').length >= 2, 8_000, 'greeting and answer');
      const during = assertPrometheusText(await (await fetch(`${h.url}/metrics`)).text());
      expect(during.get('bridge_active_calls')).toBe(1);
      expect(during.get('bridge_frames_in_total')!).toBeGreaterThan(before.get('bridge_frames_in_total') ?? 0);
      expect(during.get('bridge_frames_out_total')!).toBeGreaterThan(before.get('bridge_frames_out_total') ?? 0);
      await until(() => phone.nowMs() > 12_000, 8_000, 'the answer to play');
      await phone.hangUp();
      await until(() => h.bridge.activeCalls === 0, 3_000, 'the call to end');

      const record = (await (await api(`/api/calls/${phone.callSid}`)).json()) as Record<string, unknown> & {
        turns: { role: string; text: string; at: string }[];
      };
      expect(record).toMatchObject({
        callSid: phone.callSid,
        from: '+15550001111',
        to: '+15551230001',
        profile: '+15551230001',
        outcome: 'caller_hung_up',
        bargeIns: 0,
      });
      expect(typeof record['startedAt']).toBe('string');
      expect(typeof record['endedAt']).toBe('string');
      expect(record.turns[0]).toMatchObject({
        role: 'assistant',
        text: expect.stringContaining('Thanks for calling') as unknown,
      });
      expect(record.turns.some((t) => t.role === 'caller' && t.text.length > 0)).toBe(true);
      expect(record.turns.filter((t) => t.role === 'assistant').length).toBeGreaterThanOrEqual(2);

      const after = assertPrometheusText(await (await fetch(`${h.url}/metrics`)).text());
      expect(after.get('bridge_calls_total{outcome="caller_hung_up"}')).toBe(1);
      expect(after.get('bridge_active_calls')).toBe(0);
      expect(after.get('bridge_first_audio_seconds_count{after="call_start"}')).toBe(1);
      expect(after.get('bridge_first_audio_seconds_count{after="caller_turn"}')).toBeGreaterThanOrEqual(1);
      expect(after.get('bridge_frame_latency_seconds_count{direction="caller_to_model"}')!).toBeGreaterThan(100);
      expect(after.get('bridge_frame_latency_seconds_count{direction="model_to_caller"}')!).toBeGreaterThan(0);
      // (how fast frames are handled is the load bench's job: a busy test machine says nothing about it)
      expect(after.has('bridge_frame_latency_seconds_bucket{le="0.01",direction="caller_to_model"}')).toBe(true);
      expect(after.has('process_cpu_user_seconds_total')).toBe(true);
      expect(after.has('bridge_event_loop_delay_p99_seconds')).toBe(true);
    },
  );

  it('POST /twilio/status records stream and call status callbacks against the call', async () => {
    const sid = `CA${'e'.repeat(32)}`;
    h.bridge.calls.startCall({
      callSid: sid,
      from: '+15550001111',
      to: '+15551230001',
      profile: 'defaults',
      startedAtMs: Date.now(),
    });
    const post = (body: Record<string, string>) =>
      fetch(`${h.url}/twilio/status`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      });
    expect(
      (
        await post({
          CallSid: sid,
          StreamSid: 'MZ1',
          StreamEvent: 'stream-error',
          StreamError: 'Stream - Protocol - Invalid Message',
          Timestamp: new Date().toISOString(),
        })
      ).status,
    ).toBe(204);
    expect((await post({ CallSid: sid, CallStatus: 'completed', CallDuration: '42' })).status).toBe(204);
    const record = (await (await api(`/api/calls/${sid}`)).json()) as {
      statusEvents: { kind: string; status: string; detail: string | null }[];
    };
    expect(record.statusEvents.map((e) => [e.kind, e.status, e.detail])).toEqual([
      ['stream', 'stream-error', 'Stream - Protocol - Invalid Message'],
      ['call', 'completed', '42'],
    ]);
  });

  it('lists calls newest first with a cursor and filters by number and date', async () => {
    for (const [i, to] of ['+15551230001', '+15551230002', '+15551230001'].entries()) {
      h.bridge.calls.startCall({
        callSid: `CA${String(i).padStart(32, 'f')}`,
        from: '+15550009999',
        to,
        profile: 'defaults',
        startedAtMs: Date.UTC(2026, 0, 1, 0, i),
      });
    }
    const page1 = (await (await api('/api/calls?limit=2')).json()) as {
      calls: { callSid: string; startedAt: string }[];
      next: string | null;
    };
    expect(page1.calls).toHaveLength(2);
    expect(Date.parse(page1.calls[0]!.startedAt)).toBeGreaterThan(Date.parse(page1.calls[1]!.startedAt));
    const page2 = (await (await api(`/api/calls?limit=2&cursor=${page1.next}`)).json()) as {
      calls: { callSid: string }[];
      next: string | null;
    };
    expect(page2.calls.map((c) => c.callSid)).not.toContain(page1.calls[0]!.callSid);
    const filtered = (await (await api('/api/calls?to=%2B15551230002')).json()) as { calls: { to: string }[] };
    expect(filtered.calls.map((c) => c.to)).toEqual(['+15551230002']);
    const dated = (await (await api('/api/calls?since=2026-01-01T00:01:00Z&until=2026-01-01T00:02:00Z')).json()) as {
      calls: unknown[];
    };
    expect(dated.calls).toHaveLength(1);
  });

  it.each([
    ['/api/calls?limit=0', 400, /limit must be an integer from 1 to 100/],
    ['/api/calls?to=5551230002', 400, /E\.164/],
    ['/api/calls?cursor=%%%', 400, /cursor/],
    ['/api/calls?since=yesterday', 400, /ISO dates/],
    ['/api/calls/CA404', 404, /no call "CA404"/],
  ])('GET %s → %i with a JSON error that says what to fix', async (url, status, message) => {
    const res = await api(url);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
  });

  it('needs the bearer token; never echoes it', async () => {
    const none = await fetch(`${h.url}/api/calls`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await fetch(`${h.url}/api/calls`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain(ADMIN_TOKEN);
  });

  it(
    'PUT /api/numbers: a bad profile → 400 naming the field, file unchanged; a good one → the next call uses it',
    { timeout: 10_000 },
    async () => {
      const file = h.numbersFile;
      const original = readFileSync(file, 'utf8');
      const bad = await api('/api/numbers/%2B15551230077', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ voice: 'robot' }),
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(
        /numbers\."\+15551230077"\.voice: "robot" is not a known voice/,
      );
      expect(readFileSync(file, 'utf8')).toBe(original);
      const garbage = await api('/api/numbers/%2B15551230077', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: '{not json',
      });
      expect(garbage.status).toBe(400);

      const good = await api('/api/numbers/%2B15551230077', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ voice: 'sage', instructions: 'You are the new line.', greeting: null }),
      });
      expect(good.status).toBe(200);
      expect(await good.json()).toMatchObject({
        number: '+15551230077',
        profile: { voice: 'sage', instructions: 'You are the new line.' },
      });
      expect(readFileSync(file, 'utf8')).toContain('+15551230077');
      const listed = (await (await api('/api/numbers')).json()) as { numbers: Record<string, { voice: string }> };
      expect(listed.numbers['+15551230077']?.voice).toBe('sage');

      const sessionP = h.emulator.nextSession();
      const phone = h.phone({ to: '+15551230077' });
      await phone.dial();
      const update = await (await sessionP).waitForReceived('session.update');
      const session = update.wire['session'] as { instructions: string; audio: { output: { voice: string } } };
      expect(session.instructions).toBe('You are the new line.');
      expect(session.audio.output.voice).toBe('sage');
      await phone.hangUp();
    },
  );
});
