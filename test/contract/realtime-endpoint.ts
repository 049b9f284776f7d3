/**
 * The realtime endpoint contract (hono `common.case.test.ts` style): ONE function that takes
 * an endpoint factory and registers the same suite for every dialect it is given. `npm test`
 * runs it against the emulator × {GA, beta}; `test/live` may run it against OpenAI or Azure.
 *
 * The suite talks through the bridge's own RealtimeLink and codec, so a pass proves the
 * endpoint and our side of the wire agree. Emulator-only steering (scripted tool calls) goes
 * through the optional `scriptNextResponse`; a live endpoint is steered with instructions.
 * There are no sleeps: "all earlier audio has been processed" is learned by sending
 * `input_audio_buffer.clear` after it and waiting for `input_audio_buffer.cleared`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { concatInt16 } from '../../src/audio/signals.js';
import { readWavSamples } from '../../src/emulator/clips.js';
import { encodeMulaw, samplesToPcm16, upsample8kTo24k } from '../../src/emulator/audio-convert.js';
import type { ResponsePlan } from '../../src/emulator/responder.js';
import type { RealtimeEndpoint } from '../../src/links/providers.js';
import { RealtimeLink } from '../../src/links/realtime-link.js';
import type { Dialect } from '../../src/protocol/dialects.js';
import type { ModelAudioFormat, ModelEvent, ModelLinkEvent, SessionConfig } from '../../src/protocol/realtime.js';
import { SystemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';

import { EventQueue } from './event-queue.js';

/** One endpoint under test. */
export interface EndpointUnderTest {
  endpoint: RealtimeEndpoint;
  /** Emulator only: the next response follows this plan. Absent for live endpoints. */
  scriptNextResponse?: (plan: ResponsePlan) => void;
  close(): Promise<void>;
}

/** Makes a fresh endpoint speaking `dialect`. */
export type EndpointFactory = (dialect: Dialect) => Promise<EndpointUnderTest>;

export interface ContractOptions {
  /** test timeout for cases that stream whole responses or calls (live endpoints need more) */
  slowTimeoutMs?: number;
}

type Ev = ModelEvent | ModelLinkEvent;

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/audio');
/** Append size: Twilio's 20 ms frame. */
const FRAME_MS = 20;

/** Caller audio of a fixture as 8 kHz samples. */
function fixtureSamples(name: string): Int16Array {
  const { samples, rateHz } = readWavSamples(path.join(FIXTURES, name));
  if (rateHz !== 8000) throw new Error(`${name}: expected 8 kHz`);
  return samples;
}

/** 8 kHz samples → bytes in the session's format. */
function inFormat(samples8k: Int16Array, format: ModelAudioFormat): Buffer {
  return format === 'pcmu' ? encodeMulaw(samples8k) : samplesToPcm16(upsample8kTo24k(samples8k));
}

function bytesPerMs(format: ModelAudioFormat): number {
  return format === 'pcmu' ? 8 : 48;
}

/**
 * The speech-free stretches of the noisy twin (where the clean clip is silent), spliced:
 * line noise alone, ≈ 9 s of it.
 */
function noiseOnly(): Int16Array {
  const clean = fixtureSamples('call_two_questions.ulaw8k.wav');
  const noisy = fixtureSamples('call_two_questions_noisy.ulaw8k.wav');
  // Known silent spans of the clean clip (README), trimmed 50 ms from each speech edge.
  const spans: [number, number][] = [
    [0, 960],
    [6530, 10750],
    [12780, Math.floor((clean.length / 8000) * 1000)],
  ];
  const parts = spans.map(([a, b]) => noisy.subarray(a * 8, b * 8));
  // Guard the premise: the clean clip really is quiet there.
  for (const [a, b] of spans)
    for (let i = a * 8; i < b * 8; i++)
      if (Math.abs(clean[i]!) > 200) throw new Error(`clean clip not silent at ${i / 8} ms`);
  return concatInt16(parts);
}

const BASE_SESSION: SessionConfig = {
  instructions: 'You are a test assistant. Answer in one short sentence.',
  voice: 'alloy',
  audioFormat: 'pcm16',
  turnDetection: null,
  transcription: null,
  tools: [],
};

const VAD = {
  type: 'server_vad',
  threshold: 0.5,
  prefixPaddingMs: 300,
  silenceDurationMs: 500,
  createResponse: false,
  interruptResponse: true,
} as const;

const HOURS_TOOL = {
  name: 'get_opening_hours',
  description: 'Look up the opening hours for a day of the week.',
  parameters: { type: 'object', properties: { day: { type: 'string' } }, required: ['day'] },
};

/**
 * Registers the realtime endpoint contract for each dialect.
 * @param name label of the implementation (e.g. `emulator`)
 */
export function realtimeEndpointContract(
  name: string,
  dialects: readonly Dialect[],
  factory: EndpointFactory,
  options: ContractOptions = {},
): void {
  const slow = options.slowTimeoutMs ?? 5_000;

  for (const dialect of dialects) {
    describe(`realtime endpoint contract: ${name} × ${dialect}`, () => {
      const cleanups: (() => Promise<void> | void)[] = [];
      afterEach(async () => {
        for (const fn of cleanups.splice(0).reverse()) await fn();
      });

      /** Connects through a RealtimeLink and applies `session`; returns once `session.updated` arrived. */
      async function open(session: SessionConfig) {
        const target = await factory(dialect);
        cleanups.push(() => target.close());
        const events = new EventQueue<Ev>();
        const link = new RealtimeLink({
          endpoint: target.endpoint,
          clock: new SystemClock(),
          logger: silentLogger(),
          onEvent: events.push,
          retry: { maxAttempts: 0 },
        });
        cleanups.push(() => link.close());
        link.connect();
        const created = await events.next('model.sessionCreated');
        link.send({ type: 'model.updateSession', session });
        const updated = await events.next('model.sessionUpdated');
        return { target, link, events, created, updated };
      }

      /**
       * Appends audio in 20 ms frames as fast as the socket takes it, then waits until the
       * endpoint has processed it.
       */
      async function stream(
        link: RealtimeLink,
        events: EventQueue<Ev>,
        audio: Buffer,
        format: ModelAudioFormat,
      ): Promise<void> {
        const frame = FRAME_MS * bytesPerMs(format);
        for (let i = 0; i < audio.length; i += frame)
          expect(link.send({ type: 'model.appendAudio', audio: audio.subarray(i, i + frame) })).toBe(true);
        link.send({ type: 'model.clearAudio' });
        await events.next('model.inputCleared');
      }

      it('session: created with id and expiry; session.update round-trips the effective config', async () => {
        const { created, updated } = await open(BASE_SESSION);
        expect(created.sessionId).toBeTruthy();
        expect(created.expiresAtMs).toBeGreaterThan(Date.now());
        expect(updated.session).toEqual(BASE_SESSION);
      });

      it('session: μ-law with server VAD, transcription and tools round-trips too', async () => {
        const session: SessionConfig = {
          ...BASE_SESSION,
          audioFormat: 'pcmu',
          turnDetection: VAD,
          transcription: { model: 'whisper-1' },
          tools: [HOURS_TOOL],
        };
        const { updated } = await open(session);
        expect(updated.session).toEqual(session);
      });

      for (const [clip, format] of [
        ['call_two_questions.ulaw8k.wav', 'pcmu'],
        ['call_two_questions_noisy.ulaw8k.wav', 'pcmu'],
        ['call_two_questions.ulaw8k.wav', 'pcm16'],
        ['call_two_questions_noisy.ulaw8k.wav', 'pcm16'],
      ] as const) {
        it(
          `VAD: exactly two caller turns in ${clip} (${format})`,
          async () => {
            const { link, events } = await open({ ...BASE_SESSION, audioFormat: format, turnDetection: VAD });
            await stream(link, events, inFormat(fixtureSamples(clip), format), format);
            const started = events.all('model.speechStarted');
            const stopped = events.all('model.speechStopped');
            const committed = events.all('model.inputCommitted');
            expect(started).toHaveLength(2);
            expect(stopped).toHaveLength(2);
            expect(committed).toHaveLength(2);
            expect(stopped.map((s) => s.itemId)).toEqual(started.map((s) => s.itemId));
            expect(committed.map((c) => c.itemId)).toEqual(started.map((s) => s.itemId));
            // Speech runs 1.01–6.48 s and 10.80–12.73 s; audio_start_ms is moved back by prefix_padding_ms (300).
            expect(started[0]!.audioStartMs).toBeGreaterThanOrEqual(1010 - 300 - 100);
            expect(started[0]!.audioStartMs).toBeLessThanOrEqual(1010 - 300 + 150);
            expect(stopped[0]!.audioEndMs).toBeGreaterThanOrEqual(6480);
            expect(stopped[0]!.audioEndMs).toBeLessThanOrEqual(6480 + 500 + 300);
            expect(started[1]!.audioStartMs).toBeGreaterThanOrEqual(10800 - 300 - 100);
            expect(started[1]!.audioStartMs).toBeLessThanOrEqual(10800 - 300 + 150);
            expect(committed[1]!.previousItemId).toBe(committed[0]!.itemId);
            // Each committed turn became a user item in the conversation.
            expect(
              events
                .all('model.itemAdded')
                .filter((e) => e.item.role === 'user')
                .map((e) => e.item.id),
            ).toEqual(committed.map((c) => c.itemId));
          },
          slow,
        );
      }

      it(
        'VAD: line noise alone never starts a turn',
        async () => {
          const { link, events } = await open({ ...BASE_SESSION, audioFormat: 'pcmu', turnDetection: VAD });
          await stream(link, events, inFormat(noiseOnly(), 'pcmu'), 'pcmu');
          expect(events.all('model.speechStarted')).toEqual([]);
          expect(events.all('model.inputCommitted')).toEqual([]);
        },
        slow,
      );

      it(
        'VAD: a caller turn with create_response gets an answer (speech_stopped → committed → response)',
        async () => {
          const { link, events } = await open({
            ...BASE_SESSION,
            audioFormat: 'pcmu',
            turnDetection: { ...VAD, createResponse: true },
          });
          const question = fixtureSamples('call_two_questions.ulaw8k.wav').subarray(0, 8 * 8000);
          await stream(link, events, inFormat(question, 'pcmu'), 'pcmu');
          const [stopped] = events.all('model.speechStopped');
          const [committed] = events.all('model.inputCommitted');
          expect(committed?.itemId).toBe(stopped?.itemId);
          const done = await events.next('model.responseDone');
          expect(done.status).toBe('completed');
          const kinds = events.events.map((e) => e.type);
          expect(kinds.indexOf('model.speechStopped')).toBeLessThan(kinds.indexOf('model.inputCommitted'));
          expect(kinds.indexOf('model.inputCommitted')).toBeLessThan(kinds.indexOf('model.responseCreated'));
        },
        slow,
      );

      it(
        'response: the documented event sequence, with usage',
        async () => {
          const { link, events } = await open(BASE_SESSION);
          const from = events.length;
          link.send({ type: 'model.createResponse', instructions: 'Greet the caller.' });
          const done = await events.next('model.responseDone');
          expect(done.status).toBe('completed');
          expect(done.usage?.totalTokens).toBeGreaterThan(0);
          const seq = events.events.slice(from);
          const kinds = seq.map((e) => (e.type === 'model.other' ? e.wireType : e.type));
          const at = (kind: string) => kinds.indexOf(kind);
          const last = (kind: string) => kinds.lastIndexOf(kind);
          expect(at('model.responseCreated')).toBe(0);
          const order = [
            at('model.responseCreated'),
            at('model.outputItemAdded'),
            at('model.itemAdded'),
            at('response.content_part.added'),
            Math.min(at('model.transcriptDelta'), at('model.audioDelta')),
            last('model.audioDelta'),
            at('model.audioDone'),
            at('model.transcriptDone'),
            at('response.content_part.done'),
            at('model.outputItemDone'),
            at('model.responseDone'),
          ];
          expect(order.every((i) => i >= 0)).toBe(true);
          expect([...order].sort((a, b) => a - b)).toEqual(order);
          expect(at('model.responseDone')).toBe(kinds.length - 1);

          const deltas = events.all('model.audioDelta').filter((d) => d.responseId === done.responseId);
          expect(deltas.length).toBeGreaterThan(1); // streamed, not one blob
          const itemId = deltas[0]!.itemId;
          expect(deltas.every((d) => d.itemId === itemId && d.contentIndex === 0)).toBe(true);
          expect(deltas.reduce((n, d) => n + d.audio.length, 0) % 2).toBe(0); // whole PCM16 samples overall
          const added = events.all('model.itemAdded').find((e) => e.item.id === itemId);
          expect(added?.item.role).toBe('assistant');
          const transcript = events
            .all('model.transcriptDelta')
            .filter((d) => d.itemId === itemId)
            .map((d) => d.delta)
            .join('');
          expect(events.all('model.transcriptDone').map((t) => t.transcript)).toEqual([transcript]);
          expect(done.output.find((o) => o.id === itemId)?.text).toBe(transcript);
          expect(events.all('model.rateLimits').length).toBeGreaterThan(0);
        },
        slow,
      );

      it(
        'response: only one at a time (conversation_already_has_active_response)',
        async () => {
          const { link, events } = await open(BASE_SESSION);
          link.send({ type: 'model.createResponse' });
          await events.next('model.responseCreated');
          link.send({ type: 'model.createResponse' });
          expect((await events.next('model.error')).code).toBe('conversation_already_has_active_response');
          expect((await events.next('model.responseDone')).status).toBe('completed');
        },
        slow,
      );

      it(
        'cancel: response.cancel mid-stream ends it as cancelled; with nothing active it is an error',
        async () => {
          const { link, events } = await open(BASE_SESSION);
          link.send({ type: 'model.createResponse' });
          const created = await events.next('model.responseCreated');
          await events.next('model.audioDelta');
          link.send({ type: 'model.cancelResponse' });
          const done = await events.next('model.responseDone');
          expect(done).toMatchObject({
            responseId: created.responseId,
            status: 'cancelled',
            reason: 'client_cancelled',
          });
          const doneAt = events.events.indexOf(done);
          link.send({ type: 'model.cancelResponse' });
          expect((await events.next('model.error')).code).toBe('response_cancel_not_active');
          expect(events.events.slice(doneAt).some((e) => e.type === 'model.audioDelta')).toBe(false);
        },
        slow,
      );

      it(
        'barge-in: caller speech during a response cancels it (turn_detected)',
        async () => {
          const { link, events } = await open({ ...BASE_SESSION, audioFormat: 'pcmu', turnDetection: VAD });
          link.send({ type: 'model.createResponse' });
          const created = await events.next('model.responseCreated');
          await events.next('model.audioDelta');
          const speech = fixtureSamples('call_two_questions.ulaw8k.wav').subarray(900 * 8, 2500 * 8);
          const frame = FRAME_MS * 8;
          const audio = inFormat(speech, 'pcmu');
          for (let i = 0; i < audio.length; i += frame)
            link.send({ type: 'model.appendAudio', audio: audio.subarray(i, i + frame) });
          await events.next('model.speechStarted');
          expect(await events.next('model.responseDone')).toMatchObject({
            responseId: created.responseId,
            status: 'cancelled',
            reason: 'turn_detected',
          });
        },
        slow,
      );

      it(
        'truncate: within the audio → conversation.item.truncated; ' +
          'beyond it → "Audio content of X ms is already shorter than Y ms"',
        async () => {
          const { link, events } = await open({ ...BASE_SESSION, audioFormat: 'pcmu' });
          link.send({ type: 'model.createResponse' });
          const done = await events.next('model.responseDone');
          const deltas = events.all('model.audioDelta').filter((d) => d.responseId === done.responseId);
          const itemId = deltas[0]!.itemId;
          const audioMs = Math.floor(deltas.reduce((n, d) => n + d.audio.length, 0) / 8);
          const half = Math.floor(audioMs / 2);
          link.send({ type: 'model.truncate', itemId, contentIndex: 0, audioEndMs: half });
          expect(await events.next('model.itemTruncated')).toEqual({
            type: 'model.itemTruncated',
            itemId,
            contentIndex: 0,
            audioEndMs: half,
          });
          // After truncation the item holds `half` ms; asking for the full length is past its end.
          link.send({ type: 'model.truncate', itemId, contentIndex: 0, audioEndMs: audioMs });
          const error = await events.next('model.error');
          expect(error.message).toMatch(/Audio content of \d+ ?ms is already shorter than \d+ ?ms/);
          const [, have, want] = /of (\d+) ?ms .* than (\d+) ?ms/.exec(error.message)!;
          expect(Number(have)).toBe(half);
          expect(Number(want)).toBe(audioMs);
          // Truncating a user item or an unknown item is refused as well.
          link.send({ type: 'model.truncate', itemId: 'item_does_not_exist', contentIndex: 0, audioEndMs: 0 });
          expect((await events.next('model.error')).code).not.toBeNull();
        },
        slow,
      );

      it('input: commit of less than 100 ms is refused; clear answers cleared', async () => {
        const { link, events } = await open({ ...BASE_SESSION, audioFormat: 'pcmu' });
        link.send({ type: 'model.appendAudio', audio: Buffer.alloc(50 * 8, 0xff) });
        link.send({ type: 'model.commitAudio' });
        expect((await events.next('model.error')).message).toMatch(/buffer too small/i);
        link.send({ type: 'model.clearAudio' });
        await events.next('model.inputCleared');
      });

      it(
        'tool call round trip: function_call → output item → follow-up response',
        async () => {
          const { target, link, events } = await open({
            ...BASE_SESSION,
            instructions: 'When asked about opening hours, always call get_opening_hours first.',
            tools: [HOURS_TOOL],
          });
          target.scriptNextResponse?.({ kind: 'toolCall', name: 'get_opening_hours', arguments: { day: 'saturday' } });
          link.send({
            type: 'model.createItem',
            item: { kind: 'message', role: 'user', text: 'What are your opening hours on Saturday?' },
          });
          await events.next('model.itemAdded', (e) => e.item.role === 'user');
          link.send({ type: 'model.createResponse' });
          const added = await events.next('model.outputItemAdded', (e) => e.item.type === 'function_call');
          expect(added.item.name).toBe('get_opening_hours');
          const call = await events.next('model.functionCallDone');
          expect(call.callId).toBe(added.item.callId);
          expect(call.name).toBe(dialect === 'ga' ? 'get_opening_hours' : null); // beta's arguments.done has no name
          expect(JSON.parse(call.arguments)).toHaveProperty('day');
          const first = await events.next('model.responseDone');
          expect(first.status).toBe('completed');
          expect(first.output.find((o) => o.type === 'function_call')).toMatchObject({
            callId: call.callId,
            name: 'get_opening_hours',
          });

          link.send({
            type: 'model.createItem',
            item: { kind: 'function_call_output', callId: 'call_unknown', output: '{}' },
          });
          expect((await events.next('model.error')).code).not.toBeNull();

          link.send({
            type: 'model.createItem',
            item: { kind: 'function_call_output', callId: call.callId, output: '{"open":"9:00","close":"13:00"}' },
          });
          const output = await events.next('model.itemAdded', (e) => e.item.type === 'function_call_output');
          expect(output.item.callId).toBe(call.callId);
          link.send({ type: 'model.createResponse' });
          const second = await events.next('model.responseDone', (e) => e.responseId !== first.responseId);
          expect(second.status).toBe('completed');
          expect(second.output.some((o) => o.type === 'message' && o.role === 'assistant')).toBe(true);
        },
        slow,
      );

      it('conversation items: text items are added (user, system, assistant) and can be deleted', async () => {
        const { link, events } = await open(BASE_SESSION);
        for (const role of ['system', 'user', 'assistant'] as const) {
          link.send({ type: 'model.createItem', item: { kind: 'message', role, text: `${role} says hi` } });
          const added = await events.next('model.itemAdded');
          expect(added.item).toMatchObject({ role, type: 'message', text: `${role} says hi` });
        }
        const last = events.all('model.itemAdded').at(-1)!;
        link.send({ type: 'model.deleteItem', itemId: last.item.id });
        expect(await events.next('model.itemDeleted')).toEqual({ type: 'model.itemDeleted', itemId: last.item.id });
      });
    });
  }
}
