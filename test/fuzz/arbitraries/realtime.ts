/**
 * Generated server events for the realtime socket (PROTOCOLS §5–6, GA dialect): every event
 * the bridge reads, valid and near-valid (a field missing, of the wrong type or wrapped),
 * with ids of the response in progress or of responses and items that never existed, in any
 * order (deltas after `response.done`, `done` before `created`, duplicates); audio deltas of
 * odd sizes and invalid base64; huge transcripts; `session.created` with odd `expires_at`;
 * errors with every code the bridge treats specially; beta spellings and unknown types; and
 * text that is not an event at all.
 *
 * Placeholders filled at send time: `@@RESP@@` / `@@ITEM@@` (the emulator's latest response
 * and assistant item for this call) and `"@@EXP:<s>@@"` (now + s seconds, as a number).
 */
import fc from 'fast-check';

import { FATAL_PROVIDER_CODES } from '../../../src/links/realtime-link.js';
import { broken, mutated, notAMessage, trickyObject, wrongValue } from './common.js';

export interface ModelFrame {
  label: string;
  text: string;
}

const respId = fc.constantFrom('@@RESP@@', '@@RESP@@', 'resp_fuzz_1', 'resp_fuzz_2', '', 'r'.repeat(300));
const itemId = fc.constantFrom('@@ITEM@@', '@@ITEM@@', 'item_fuzz_1', 'item_fuzz_2', '');
const index = fc.oneof(
  { weight: 8, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: -1, max: 5 }) },
);
const eventId = fc.integer({ min: 1, max: 1e9 }).map((n) => `event_fz${n}`);
const shortText = fc.string({ maxLength: 60 });
const hugeText = fc.integer({ min: 10_000, max: 120_000 }).map((n) => 'word '.repeat(n / 5));
const anyText = fc.oneof({ weight: 10, arbitrary: shortText }, { weight: 1, arbitrary: hugeText });

/** PCM16 24 kHz as base64: 0–200 ms, odd byte counts included (a split sample). */
const audioB64 = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 0, max: 9_600 }).map((n) => Buffer.alloc(n, 0x10).toString('base64')) },
  {
    weight: 3,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 801 }).map((b) => Buffer.from(b).toString('base64')),
  },
  { weight: 1, arbitrary: fc.constantFrom('abc', '====', 'YWJj\n', '-_-_', '%%%%', 'YQ', 'YQ=', 'é') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  // up to ~6 s of audio in one delta (the link accepts frames up to 64 MiB)
  {
    weight: 1,
    arbitrary: fc.integer({ min: 48_000, max: 300_000 }).map((n) => Buffer.alloc(n, 0x20).toString('base64')),
  },
);

const status = fc.oneof(
  fc.constantFrom('completed', 'cancelled', 'incomplete', 'failed', 'in_progress'),
  fc.string({ maxLength: 10 }),
);
const statusDetails = fc.option(
  fc.record({
    type: status,
    reason: fc.constantFrom('turn_detected', 'client_cancelled', 'max_output_tokens', 'content_filter', null),
    error: fc.option(fc.record({ type: shortText, code: shortText })),
  }),
);
const item = fc.record({
  id: itemId,
  object: fc.constant('realtime.item'),
  type: fc.constantFrom('message', 'function_call', 'function_call_output', 'mcp_call', 'x'),
  status: fc.constantFrom('in_progress', 'completed', 'incomplete'),
  role: fc.constantFrom('assistant', 'user', 'system', 'tool'),
  name: fc.option(fc.constantFrom('hang_up', 'transfer_call', 'lookup', '')),
  call_id: fc.option(fc.constantFrom('call_fz_1', 'call_fz_2')),
  arguments: fc.option(shortText),
  content: fc.array(
    fc.record({
      type: fc.constantFrom('output_audio', 'output_text', 'input_audio', 'input_text'),
      transcript: fc.option(anyText),
      text: fc.option(shortText),
    }),
    { maxLength: 2 },
  ),
});
const ids = { response_id: respId, item_id: itemId, output_index: index, content_index: index };

/** The valid events of a response, one arbitrary per type, any ids (so: any order). */
const responseEvents = {
  created: fc.record({
    type: fc.constant('response.created'),
    event_id: eventId,
    response: fc.record({
      id: respId,
      object: fc.constant('realtime.response'),
      status: fc.constant('in_progress'),
      output: fc.constant([]),
    }),
  }),
  done: fc.record({
    type: fc.constant('response.done'),
    event_id: eventId,
    response: fc.record({
      id: respId,
      status,
      status_details: statusDetails,
      output: fc.array(item, { maxLength: 2 }),
      usage: fc.option(fc.record({ total_tokens: fc.nat(), input_tokens: fc.nat(), output_tokens: fc.nat() })),
    }),
  }),
  itemAdded: fc.record({
    type: fc.constantFrom('response.output_item.added', 'response.output_item.done'),
    event_id: eventId,
    response_id: respId,
    output_index: index,
    item,
  }),
  partAdded: fc.record({
    type: fc.constantFrom('response.content_part.added', 'response.content_part.done'),
    event_id: eventId,
    ...ids,
    part: fc.record({ type: fc.constant('audio'), transcript: shortText }),
  }),
  audioDelta: fc.record({
    type: fc.constant('response.output_audio.delta'),
    event_id: eventId,
    ...ids,
    delta: audioB64,
  }),
  audioDone: fc.record({ type: fc.constant('response.output_audio.done'), event_id: eventId, ...ids }),
  transcriptDelta: fc.record({
    type: fc.constantFrom('response.output_audio_transcript.delta', 'response.output_text.delta'),
    event_id: eventId,
    ...ids,
    delta: anyText,
  }),
  transcriptDone: fc.record({
    type: fc.constant('response.output_audio_transcript.done'),
    event_id: eventId,
    ...ids,
    transcript: anyText,
  }),
  textDone: fc.record({ type: fc.constant('response.output_text.done'), event_id: eventId, ...ids, text: anyText }),
  argsDelta: fc.record({
    type: fc.constant('response.function_call_arguments.delta'),
    event_id: eventId,
    ...ids,
    call_id: fc.constant('call_fz_1'),
    delta: shortText,
  }),
  // a call of a tool this profile does not have, or no name (the bridge looks it up by item)
  functionCall: fc.record({
    type: fc.constant('response.function_call_arguments.done'),
    event_id: eventId,
    response_id: respId,
    item_id: itemId,
    output_index: index,
    call_id: fc.constantFrom('call_fz_1', 'call_fz_2', ''),
    name: fc.option(fc.constantFrom('transfer_call', 'lookup', 'HANG_UP', '')),
    arguments: fc.oneof(shortText, fc.constantFrom('{}', '{"reason":"fuzz"}', '{"reason":', 'null', '[]')),
  }),
};

const inputEvents = {
  speechStarted: fc.record({
    type: fc.constant('input_audio_buffer.speech_started'),
    event_id: eventId,
    audio_start_ms: fc.nat(100_000),
    item_id: itemId,
  }),
  speechStopped: fc.record({
    type: fc.constant('input_audio_buffer.speech_stopped'),
    event_id: eventId,
    audio_end_ms: fc.nat(100_000),
    item_id: itemId,
  }),
  committed: fc.record({
    type: fc.constant('input_audio_buffer.committed'),
    event_id: eventId,
    item_id: itemId,
    previous_item_id: fc.option(itemId),
  }),
  cleared: fc.record({
    type: fc.constantFrom('input_audio_buffer.cleared', 'input_audio_buffer.timeout_triggered'),
    event_id: eventId,
  }),
  transcript: fc.record({
    type: fc.constant('conversation.item.input_audio_transcription.completed'),
    event_id: eventId,
    item_id: itemId,
    content_index: index,
    transcript: anyText,
  }),
  transcriptFailed: fc.record({
    type: fc.constant('conversation.item.input_audio_transcription.failed'),
    event_id: eventId,
    item_id: itemId,
    content_index: index,
    error: fc.record({ type: shortText, code: shortText, message: shortText }),
  }),
  conversationItem: fc.record({
    type: fc.constantFrom('conversation.item.added', 'conversation.item.done', 'conversation.item.created'),
    event_id: eventId,
    previous_item_id: fc.option(itemId),
    item,
  }),
  truncated: fc.record({
    type: fc.constant('conversation.item.truncated'),
    event_id: eventId,
    item_id: itemId,
    content_index: index,
    audio_end_ms: fc.integer(),
  }),
  deleted: fc.record({ type: fc.constant('conversation.item.deleted'), event_id: eventId, item_id: itemId }),
  rateLimits: fc.record({
    type: fc.constant('rate_limits.updated'),
    event_id: eventId,
    rate_limits: fc.array(
      fc.record({
        name: fc.constantFrom('requests', 'tokens'),
        limit: fc.nat(),
        remaining: fc.nat(),
        reset_seconds: fc.double({ min: 0, max: 100, noNaN: true }),
      }),
      { maxLength: 2 },
    ),
  }),
};

/** `expires_at` as the provider might send it: the usual hour ahead, or odd values. */
const expiresAt = fc.oneof(
  { weight: 4, arbitrary: fc.constant('@@EXP:3600@@') },
  { weight: 1, arbitrary: fc.constantFrom('@@EXP:90@@', '@@EXP:-10@@', '@@EXP:3456000@@', 0, -1, 1e308, 1.5, null) },
);
const sessionEvents = {
  sessionCreated: fc.record({
    type: fc.constantFrom('session.created', 'session.updated'),
    event_id: eventId,
    session: fc.record({
      id: fc.constant('sess_fuzz'),
      object: fc.constant('realtime.session'),
      type: fc.constant('realtime'),
      model: fc.constant('gpt-realtime'),
      expires_at: expiresAt,
      instructions: shortText,
      audio: fc.record({
        input: fc.record({
          format: fc.record({
            type: fc.constantFrom('audio/pcm', 'audio/pcmu', 'audio/pcma'),
            rate: fc.constantFrom(24000, 8000),
          }),
          turn_detection: fc.option(
            fc.record({
              type: fc.constantFrom('server_vad', 'semantic_vad', 'x'),
              threshold: fc.double({ min: 0, max: 1, noNaN: true }),
            }),
          ),
        }),
        output: fc.record({
          format: fc.record({ type: fc.constantFrom('audio/pcm', 'audio/pcmu') }),
          voice: fc.constantFrom('alloy', 'marin'),
        }),
      }),
      tools: fc.array(fc.record({ type: fc.constant('function'), name: shortText }), { maxLength: 2 }),
    }),
  }),
};

/** Errors the bridge treats specially, and any other code; fatal ones are rare (they end the call). */
const errorEvent = (codes: fc.Arbitrary<string | null>) =>
  fc.record({
    type: fc.constant('error'),
    event_id: eventId,
    error: fc.record({
      type: fc.constantFrom('invalid_request_error', 'server_error'),
      code: codes,
      message: anyText,
      param: fc.constant(null),
      event_id: fc.option(eventId),
    }),
  });
const benignCodes = fc.oneof(
  fc.constantFrom(
    'response_cancel_not_active',
    'conversation_already_has_active_response',
    'session_expired',
    'input_audio_buffer_commit_empty',
    'unknown_parameter',
    'invalid_value',
    'rate_limit_exceeded',
    null,
  ),
  shortText,
);
const fatalCodes = fc.constantFrom(...FATAL_PROVIDER_CODES);

const all = { ...responseEvents, ...inputEvents, ...sessionEvents };

const json = (arb: fc.Arbitrary<unknown>, label: string) =>
  arb.map((m): ModelFrame => ({ label, text: JSON.stringify(m) }));

/** Every valid event kind, each as itself and as its mutated form. */
const valid = Object.entries(all).flatMap(([name, arb]) => [
  {
    weight: name === 'audioDelta' ? 120 : name === 'created' || name === 'done' ? 40 : 20,
    arbitrary: json(arb, name),
  },
  { weight: 10, arbitrary: json(mutated(arb as fc.Arbitrary<Record<string, unknown>>), `${name}~`) },
]);

/**
 * One generated server event. Ends of the call are rare: a fatal error code (the bridge
 * apologises and ends the call) about once in 1,000 events, a `hang_up` call (the call ends
 * after the assistant's audio) about once in 1,000.
 */
export const modelFrame: fc.Arbitrary<ModelFrame> = fc.oneof(
  ...valid,
  { weight: 40, arbitrary: json(errorEvent(benignCodes), 'error') },
  { weight: 10, arbitrary: json(mutated(errorEvent(benignCodes)), 'error~') },
  { weight: 1, arbitrary: json(errorEvent(fatalCodes), 'error/fatal') },
  {
    weight: 1,
    arbitrary: json(
      responseEvents.functionCall.map((e) => ({ ...e, name: 'hang_up', arguments: '{"reason":"fuzz"}' })),
      'functionCall/hang_up',
    ),
  },
  // beta spellings on a GA socket, and types nobody knows
  {
    weight: 20,
    arbitrary: json(
      fc
        .tuple(
          fc.constantFrom(
            'response.audio.delta',
            'response.audio_transcript.done',
            'response.text.delta',
            'output_audio_buffer.started',
            'mcp_list_tools.completed',
            'x',
            'response.',
          ),
          responseEvents.audioDelta,
        )
        .map(([type, e]) => ({ ...e, type })),
      'unknown-type',
    ),
  },
  { weight: 10, arbitrary: json(fc.record({ type: wrongValue, event_id: eventId }), 'type-wrong-type') },
  { weight: 30, arbitrary: notAMessage.map((text): ModelFrame => ({ label: 'not-a-message', text })) },
  {
    weight: 30,
    arbitrary: broken(
      fc.oneof(responseEvents.audioDelta, responseEvents.done, inputEvents.speechStarted).map((e) => JSON.stringify(e)),
    ).map((text): ModelFrame => ({ label: 'broken-json', text })),
  },
  {
    weight: 10,
    arbitrary: trickyObject('type', ['response.done', 'response.output_audio.delta', 'error']).map(
      (text): ModelFrame => ({ label: 'tricky-object', text }),
    ),
  },
);
