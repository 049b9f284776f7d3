/**
 * Fuzz, model side (issue 8): generated server events (see `arbitraries/realtime.ts`)
 * injected into one call's realtime socket through the emulator (`sendRaw`), next to the
 * emulator's own traffic for that call, while a second, healthy call runs.
 *
 * Oracle: the fuzzed call goes on — the link may reconnect (a new emulator session takes
 * over the injection) — or it ends in one of the two ways injected events may cause: a fatal
 * provider error code (apology, outcome `error`) or a `hang_up` tool call (outcome
 * `hang_up_tool`). When it ends, its model socket is closed and its record written. Any other
 * end, an error-level log line that is not the documented apology, or a disturbance of the
 * healthy call fails the run. Events go out in batches; after each, an `error` event with a
 * unique code is a sync point (the bridge logs it after handling everything before it).
 * Every 1,200 events the model socket is dropped as a network would, so reconnects happen
 * in the middle of whatever state the garbage left.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { EmulatorSession, TrafficRecord } from '../../src/emulator/emulator-session.js';
import { serverEventFromGa, type Dialect } from '../../src/protocol/dialects.js';
import type { WireObject } from '../../src/protocol/wire-object.js';
import type { SimulatedPhone } from '../../src/sim/phone.js';
import { startCallHarness, until } from '../support/call-harness.js';
import { expectUndisturbed, startHealthyCall } from '../support/healthy-call.js';
import { FUZZ_SEED, reproduceHint } from './arbitraries/common.js';
import { modelFrame, type ModelFrame } from './arbitraries/realtime.js';
import { callRecord, FUZZ_NUMBERS, FUZZED_NUMBERS, HEALTHY_NUMBER, within, writeStats } from './support.js';

/**
 * Generated events per run, per dialect (with the Twilio-side fuzzer's frames, ≥ 20,000 per
 * `npm test`). GA is what OpenAI and Azure speak now; beta stays for old gateways (SPEC §2).
 */
const EVENTS: Readonly<Record<Dialect, number>> = { ga: 7_000, beta: 4_000 };
const BATCH = 40;
/** Events between two dropped model sockets (a multiple of BATCH). */
const DROP_EVERY = 1_200;
const FILE = 'test/fuzz/model-events.test.ts';

/** Error-level lines the bridge writes when a fatal provider error ends a call (SPEC §6.7). */
const FATAL_ERROR_LINES = new Set(['realtime link gave up', 'model unavailable; apologising and ending the call']);

interface FuzzedCall {
  phone: SimulatedPhone;
  sessions: EmulatorSession[];
  events: number;
  fatalInjected: boolean;
  hangUpInjected: boolean;
}

/**
 * The generators speak GA; for a beta socket each event that is a JSON object is translated
 * the way the emulator translates its own (`serverEventFromGa`); the rest goes as is.
 */
function inDialect(text: string, dialect: Dialect): string {
  if (dialect === 'ga') return text;
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return text;
    const beta = serverEventFromGa(value as WireObject, 'beta');
    return beta === null ? text : JSON.stringify(beta);
  } catch {
    return text; // not JSON, or nested too deep to stringify again
  }
}

describe.each(['ga', 'beta'] as const)(
  "fuzz: generated server events on a call's realtime socket (%s)",
  async (dialect) => {
    const h = await startCallHarness({ numbersYaml: FUZZ_NUMBERS, env: { REALTIME_DIALECT: dialect } });

    it(
      `${EVENTS[dialect]} events: the process, the healthy call and the records survive; calls end only as documented`,
      { timeout: 60_000 },
      async () => {
        const started = performance.now();
        const frames = fc.sample(modelFrame, {
          seed: FUZZ_SEED + (dialect === 'beta' ? 1 : 0),
          numRuns: EVENTS[dialect],
        });
        const generatedMs = performance.now() - started;
        const healthy = await startHealthyCall(h, { to: HEALTHY_NUMBER, durationMs: 60_000 });
        healthy.startWindow();

        const claimed = new Set<EmulatorSession>([healthy.model]);
        const unclaimed = () => h.emulator.sessions.find((s) => !claimed.has(s));
        const claim = (s: EmulatorSession, call: FuzzedCall) => {
          claimed.add(s);
          call.sessions.push(s);
          s.on('sent', (r: TrafficRecord) => {
            if (r.type === 'response.created') {
              const id = (r.wire['response'] as { id?: unknown } | undefined)?.id;
              if (typeof id === 'string') latest.resp = id;
            }
            if (r.type === 'response.output_item.added') {
              const id = (r.wire['item'] as { id?: unknown } | undefined)?.id;
              if (typeof id === 'string') latest.item = id;
            }
          });
        };
        const latest = { resp: 'resp_none', item: 'item_none' };
        const calls: FuzzedCall[] = [];
        const dial = async (): Promise<FuzzedCall> => {
          // The simulated phone plays and echoes marks (8× real time, so an apology or a last
          // answer before a hang-up plays out quickly).
          const call: FuzzedCall = {
            phone: h.phone({ to: FUZZED_NUMBERS[calls.length % 2]!, timeScale: 8 }),
            sessions: [],
            events: 0,
            fatalInjected: false,
            hangUpInjected: false,
          };
          await call.phone.dial();
          await until(
            () => unclaimed() !== undefined,
            10_000,
            `the fuzzed call's model session; ${reproduceHint(FILE)}`,
          );
          claim(unclaimed()!, call);
          calls.push(call);
          return call;
        };
        const fill = (text: string) =>
          text
            .replaceAll('@@RESP@@', latest.resp)
            .replaceAll('@@ITEM@@', latest.item)
            .replace(/"@@EXP:(-?\d+)@@"/g, (_m, s: string) => String(Math.floor(Date.now() / 1000) + Number(s)));

        let logIndex = 0;
        let syncs = 0;
        /** Resolves once the bridge has handled every event sent so far on `session` (or the socket closed). */
        const sync = async (session: EmulatorSession) => {
          const code = `fuzz_sync_${++syncs}`;
          session.sendRaw({
            type: 'error',
            event_id: `event_sync${syncs}`,
            error: { type: 'fuzz', code, message: 'sync point', param: null, event_id: null },
          });
          await until(
            () => {
              while (logIndex < h.logs.lines.length) if (h.logs.lines[logIndex++]!['code'] === code) return true;
              return !session.isOpen;
            },
            15_000,
            `sync point ${code}; ${reproduceHint(FILE)}`,
          );
        };

        const recent: ModelFrame[] = [];
        const context = () => `${reproduceHint(FILE)}; last events: ${recent.map((f) => f.label).join(', ')}`;
        let call = await dial();
        let reconnects = 0;
        for (let i = 0; i < frames.length; i++) {
          const frame = frames[i]!;
          const session = call.sessions[call.sessions.length - 1]!;
          const text = inDialect(fill(frame.text), dialect);
          if (frame.label === 'error/fatal') call.fatalInjected = true;
          if (text.includes('hang_up')) call.hangUpInjected = true;
          recent.push(frame);
          if (recent.length > BATCH) recent.shift();
          session.sendRaw(text);
          call.events++;
          if ((i + 1) % BATCH !== 0 && i !== frames.length - 1) continue;
          await sync(session);
          // Now and then the network drops the model socket mid-garbage: the reconnect must
          // restore a call whatever state the events above left it in.
          if ((i + 1) % DROP_EVERY === 0 && session.isOpen) session.drop();
          if (session.isOpen && call.phone.isOpen) continue;

          // The model socket closed: the link reconnects (a new session for this call) or the
          // call ends (the phone's socket closes). Nothing else may happen.
          const next = await Promise.race([
            until(() => unclaimed() !== undefined, 15_000, 'a reconnect').then(() => 'reconnect' as const),
            call.phone.closed().then(() => 'ended' as const),
          ]).catch(() => null);
          if (next === 'reconnect' && call.phone.isOpen) {
            claim(unclaimed()!, call);
            reconnects++;
            continue;
          }
          expect(
            next,
            `the fuzzed call neither reconnected nor ended after its model socket closed; ${context()}`,
          ).not.toBeNull();
          // Ended (a session may still have appeared: a reconnect in flight when the call ended
          // is cut off at once — it belongs to this call, not the next).
          await within(call.phone.closed(), 5_000);
          expect(
            call.phone.isOpen,
            `the fuzzed call's model socket closed and a new one opened, yet the call ended; ${context()}`,
          ).toBe(false);
          for (let s = unclaimed(); s !== undefined; s = unclaimed()) claim(s, call);
          // An ended call leaves no model socket open (SPEC §6.7: at once; faults-twilio.test.ts
          // holds the 1 s bound — here the runner may be loaded, so only "not left open").
          for (const s of call.sessions)
            expect(
              await within(s.closed, 3_000),
              `model socket still open after the call ended; ${context()}`,
            ).not.toBeNull();
          call = await dial();
        }
        const fuzzMs = performance.now() - started;

        // The call still open at the end carries on: its caller audio still reaches its model.
        const lastSession = call.sessions[call.sessions.length - 1]!;
        const before = lastSession.inputAudioMs;
        await until(
          () => lastSession.inputAudioMs > before,
          5_000,
          `the last fuzzed call to keep appending audio; ${context()}`,
        );
        await call.phone.hangUp();

        const flow = await healthy.report();
        expectUndisturbed(flow, reproduceHint(FILE));
        await healthy.hangUp();
        await until(() => h.bridge.activeCalls === 0, 5_000, 'every call to end');

        // Every fuzzed call has its record, ended by what was injected into it (or by our hang-up).
        const outcomes: Record<string, number> = {};
        for (const c of calls) {
          const record = await callRecord(h.url, c.phone.callSid);
          outcomes[record.outcome] = (outcomes[record.outcome] ?? 0) + 1;
          expect(record.endedAt, `record of ${c.phone.callSid}`).not.toBeNull();
          const allowed =
            c === call
              ? ['caller_hung_up']
              : [...(c.fatalInjected ? ['error'] : []), ...(c.hangUpInjected ? ['hang_up_tool'] : [])];
          expect(allowed, `outcome of ${c.phone.callSid} (${record.detail ?? ''}); ${reproduceHint(FILE)}`).toContain(
            record.outcome,
          );
        }
        expect(h.emulator.sessions).toEqual([]);
        const errors = h.logs.lines.filter((l) => l.level >= 50 && !FATAL_ERROR_LINES.has(l.msg));
        expect(
          errors.map((l) => l.msg),
          reproduceHint(FILE),
        ).toEqual([]);

        const mix: Record<string, number> = {};
        for (const f of frames) mix[f.label] = (mix[f.label] ?? 0) + 1;
        writeStats(`model-${dialect}`, {
          seed: FUZZ_SEED,
          events: frames.length,
          generatedMs,
          wallMs: performance.now() - started,
          fuzzMs,
          calls: calls.length,
          reconnects,
          outcomes,
          flow,
          mix,
        });
      },
    );
  },
);
