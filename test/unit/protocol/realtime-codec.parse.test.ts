import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { Dialect } from '../../../src/protocol/dialects.js';
import { parseServerEvent } from '../../../src/protocol/realtime-codec.js';
import type { ModelEvent } from '../../../src/protocol/realtime.js';

const AUDIO = Buffer.from([1, 2, 3, 4, 5]);
const B64 = AUDIO.toString('base64');
const ids = { response_id: 'resp_1', item_id: 'item_1', output_index: 0, content_index: 0 };

function parse(wire: object, dialect: Dialect): ModelEvent {
  const result = parseServerEvent(JSON.stringify({ event_id: 'event_1', ...wire }), dialect);
  if (!result.ok) throw new Error(result.reason);
  return result.event;
}

describe('parseServerEvent: the same meaning in both dialects', () => {
  const pairs: { name: string; ga: object; beta: object; expected: ModelEvent }[] = [
    {
      name: 'audio delta (base64 decoded)',
      ga: { type: 'response.output_audio.delta', ...ids, delta: B64 },
      beta: { type: 'response.audio.delta', ...ids, delta: B64 },
      expected: {
        type: 'model.audioDelta',
        responseId: 'resp_1',
        itemId: 'item_1',
        outputIndex: 0,
        contentIndex: 0,
        audio: AUDIO,
      },
    },
    {
      name: 'audio done',
      ga: { type: 'response.output_audio.done', ...ids },
      beta: { type: 'response.audio.done', ...ids },
      expected: { type: 'model.audioDone', responseId: 'resp_1', itemId: 'item_1', contentIndex: 0 },
    },
    {
      name: 'transcript delta',
      ga: { type: 'response.output_audio_transcript.delta', ...ids, delta: 'Hel' },
      beta: { type: 'response.audio_transcript.delta', ...ids, delta: 'Hel' },
      expected: {
        type: 'model.transcriptDelta',
        responseId: 'resp_1',
        itemId: 'item_1',
        contentIndex: 0,
        delta: 'Hel',
      },
    },
    {
      name: 'transcript done',
      ga: { type: 'response.output_audio_transcript.done', ...ids, transcript: 'Hello' },
      beta: { type: 'response.audio_transcript.done', ...ids, transcript: 'Hello' },
      expected: {
        type: 'model.transcriptDone',
        responseId: 'resp_1',
        itemId: 'item_1',
        contentIndex: 0,
        transcript: 'Hello',
      },
    },
    {
      name: 'text done',
      ga: { type: 'response.output_text.done', ...ids, text: 'Hi' },
      beta: { type: 'response.text.done', ...ids, text: 'Hi' },
      expected: { type: 'model.textDone', responseId: 'resp_1', itemId: 'item_1', contentIndex: 0, text: 'Hi' },
    },
    {
      name: 'text delta is not used by the bridge',
      ga: { type: 'response.output_text.delta', ...ids, delta: 'H' },
      beta: { type: 'response.text.delta', ...ids, delta: 'H' },
      expected: { type: 'model.other', wireType: 'response.output_text.delta' },
    },
    {
      name: 'item added (beta .created, GA .added); assistant content types differ',
      ga: {
        type: 'conversation.item.added',
        previous_item_id: 'item_0',
        item: {
          id: 'item_1',
          object: 'realtime.item',
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_audio', transcript: 'Hello there' }],
        },
      },
      beta: {
        type: 'conversation.item.created',
        previous_item_id: 'item_0',
        item: {
          id: 'item_1',
          object: 'realtime.item',
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'audio', transcript: 'Hello there' }],
        },
      },
      expected: {
        type: 'model.itemAdded',
        previousItemId: 'item_0',
        item: {
          id: 'item_1',
          type: 'message',
          role: 'assistant',
          status: 'completed',
          name: null,
          callId: null,
          arguments: null,
          text: 'Hello there',
        },
      },
    },
    {
      name: 'speech started',
      ga: { type: 'input_audio_buffer.speech_started', audio_start_ms: 700, item_id: 'item_2' },
      beta: { type: 'input_audio_buffer.speech_started', audio_start_ms: 700, item_id: 'item_2' },
      expected: { type: 'model.speechStarted', audioStartMs: 700, itemId: 'item_2' },
    },
    {
      name: 'speech stopped',
      ga: { type: 'input_audio_buffer.speech_stopped', audio_end_ms: 2900, item_id: 'item_2' },
      beta: { type: 'input_audio_buffer.speech_stopped', audio_end_ms: 2900, item_id: 'item_2' },
      expected: { type: 'model.speechStopped', audioEndMs: 2900, itemId: 'item_2' },
    },
    {
      name: 'committed',
      ga: { type: 'input_audio_buffer.committed', item_id: 'item_2', previous_item_id: null },
      beta: { type: 'input_audio_buffer.committed', item_id: 'item_2', previous_item_id: 'item_1' },
      expected: { type: 'model.inputCommitted', itemId: 'item_2', previousItemId: null },
    },
    {
      name: 'function call arguments done (GA carries name, beta does not)',
      ga: {
        type: 'response.function_call_arguments.done',
        response_id: 'resp_1',
        item_id: 'item_9',
        output_index: 0,
        call_id: 'call_7',
        name: 'transfer_call',
        arguments: '{"reason":"billing"}',
      },
      beta: {
        type: 'response.function_call_arguments.done',
        response_id: 'resp_1',
        item_id: 'item_9',
        output_index: 0,
        call_id: 'call_7',
        arguments: '{"reason":"billing"}',
      },
      expected: {
        type: 'model.functionCallDone',
        responseId: 'resp_1',
        itemId: 'item_9',
        callId: 'call_7',
        name: 'transfer_call',
        arguments: '{"reason":"billing"}',
      },
    },
  ];

  for (const { name, ga, beta, expected } of pairs) {
    it(`${name} — GA`, () => {
      expect(parse(ga, 'ga')).toEqual(expected);
    });
    it(`${name} — beta`, () => {
      const got = parse(beta, 'beta');
      if (expected.type === 'model.functionCallDone') expect(got).toEqual({ ...expected, name: null });
      else if (expected.type === 'model.inputCommitted') expect(got).toEqual({ ...expected, previousItemId: 'item_1' });
      else expect(got).toEqual(expected);
    });
  }
});

describe('parseServerEvent: events with bodies', () => {
  it('session.created gives id, model, expiry in epoch ms and the effective config (GA)', () => {
    const event = parse(
      {
        type: 'session.created',
        session: {
          type: 'realtime',
          object: 'realtime.session',
          id: 'sess_1',
          model: 'gpt-realtime',
          expires_at: 1_767_229_200,
          instructions: 'Be brief.',
          output_modalities: ['audio'],
          audio: {
            input: {
              format: { type: 'audio/pcmu' },
              transcription: null,
              turn_detection: {
                type: 'server_vad',
                threshold: 0.6,
                prefix_padding_ms: 200,
                silence_duration_ms: 400,
                create_response: false,
                interrupt_response: true,
              },
            },
            output: { format: { type: 'audio/pcmu' }, voice: 'marin' },
          },
          tools: [{ type: 'function', name: 'hang_up', description: 'End the call', parameters: { type: 'object' } }],
        },
      },
      'ga',
    );
    expect(event).toEqual({
      type: 'model.sessionCreated',
      sessionId: 'sess_1',
      model: 'gpt-realtime',
      expiresAtMs: 1_767_229_200_000,
      session: {
        instructions: 'Be brief.',
        voice: 'marin',
        audioFormat: 'pcmu',
        transcription: null,
        turnDetection: {
          type: 'server_vad',
          threshold: 0.6,
          prefixPaddingMs: 200,
          silenceDurationMs: 400,
          createResponse: false,
          interruptResponse: true,
        },
        tools: [{ name: 'hang_up', description: 'End the call', parameters: { type: 'object' } }],
      },
    });
  });

  it('session.updated in beta (flat session) maps to the same summary', () => {
    const event = parse(
      {
        type: 'session.updated',
        session: {
          id: 'sess_1',
          modalities: ['text', 'audio'],
          voice: 'alloy',
          input_audio_format: 'pcm16',
          output_audio_format: 'pcm16',
          input_audio_transcription: { model: 'whisper-1' },
          turn_detection: null,
          tools: [],
          temperature: 0.8,
        },
      },
      'beta',
    );
    expect(event).toEqual({
      type: 'model.sessionUpdated',
      session: {
        voice: 'alloy',
        audioFormat: 'pcm16',
        transcription: { model: 'whisper-1' },
        turnDetection: null,
        tools: [],
      },
    });
  });

  it('error keeps code, type, message and the client event id', () => {
    expect(
      parse(
        {
          type: 'error',
          error: {
            type: 'invalid_request_error',
            code: 'response_cancel_not_active',
            message: 'Cancellation failed: no active response found',
            param: null,
            event_id: 'c_5',
          },
        },
        'ga',
      ),
    ).toEqual({
      type: 'model.error',
      code: 'response_cancel_not_active',
      errorType: 'invalid_request_error',
      message: 'Cancellation failed: no active response found',
      eventId: 'c_5',
    });
  });

  it('response.done: status, reason, output items and usage', () => {
    const event = parse(
      {
        type: 'response.done',
        response: {
          object: 'realtime.response',
          id: 'resp_1',
          status: 'cancelled',
          status_details: { type: 'cancelled', reason: 'turn_detected' },
          output: [
            {
              id: 'item_1',
              object: 'realtime.item',
              type: 'message',
              status: 'incomplete',
              role: 'assistant',
              content: [{ type: 'output_audio', transcript: 'Our hours' }],
            },
            {
              id: 'item_2',
              object: 'realtime.item',
              type: 'function_call',
              status: 'completed',
              call_id: 'call_1',
              name: 'hang_up',
              arguments: '{}',
            },
          ],
          usage: { total_tokens: 82, input_tokens: 5, output_tokens: 77, input_token_details: { text_tokens: 5 } },
        },
      },
      'ga',
    );
    expect(event).toEqual({
      type: 'model.responseDone',
      responseId: 'resp_1',
      status: 'cancelled',
      reason: 'turn_detected',
      errorCode: null,
      output: [
        {
          id: 'item_1',
          type: 'message',
          role: 'assistant',
          status: 'incomplete',
          name: null,
          callId: null,
          arguments: null,
          text: 'Our hours',
        },
        {
          id: 'item_2',
          type: 'function_call',
          role: null,
          status: 'completed',
          name: 'hang_up',
          callId: 'call_1',
          arguments: '{}',
          text: null,
        },
      ],
      usage: { totalTokens: 82, inputTokens: 5, outputTokens: 77 },
    });
  });

  it('failed response carries the error code', () => {
    const event = parse(
      {
        type: 'response.done',
        response: {
          id: 'resp_2',
          status: 'failed',
          status_details: { type: 'failed', error: { type: 'server_error', code: 'server_error' } },
          output: [],
          usage: null,
        },
      },
      'beta',
    );
    expect(event).toMatchObject({
      type: 'model.responseDone',
      status: 'failed',
      errorCode: 'server_error',
      usage: null,
    });
  });

  it('rate limits', () => {
    expect(
      parse(
        {
          type: 'rate_limits.updated',
          rate_limits: [{ name: 'tokens', limit: 100, remaining: 90, reset_seconds: 1.5 }],
        },
        'ga',
      ),
    ).toEqual({
      type: 'model.rateLimits',
      limits: [{ name: 'tokens', limit: 100, remaining: 90, resetSeconds: 1.5 }],
    });
  });

  it('transcription completed / failed, truncated, deleted, cleared, item done', () => {
    expect(
      parse(
        {
          type: 'conversation.item.input_audio_transcription.completed',
          item_id: 'i',
          content_index: 0,
          transcript: 'hi',
        },
        'ga',
      ),
    ).toEqual({
      type: 'model.inputTranscriptDone',
      itemId: 'i',
      contentIndex: 0,
      transcript: 'hi',
    });
    expect(
      parse(
        {
          type: 'conversation.item.input_audio_transcription.failed',
          item_id: 'i',
          content_index: 0,
          error: { type: 'x', code: 'c', message: 'boom' },
        },
        'beta',
      ),
    ).toEqual({
      type: 'model.inputTranscriptFailed',
      itemId: 'i',
      message: 'boom',
    });
    expect(
      parse({ type: 'conversation.item.truncated', item_id: 'i', content_index: 0, audio_end_ms: 1200 }, 'ga'),
    ).toEqual({
      type: 'model.itemTruncated',
      itemId: 'i',
      contentIndex: 0,
      audioEndMs: 1200,
    });
    expect(parse({ type: 'conversation.item.deleted', item_id: 'i' }, 'ga')).toEqual({
      type: 'model.itemDeleted',
      itemId: 'i',
    });
    expect(parse({ type: 'input_audio_buffer.cleared' }, 'beta')).toEqual({ type: 'model.inputCleared' });
    expect(
      parse(
        {
          type: 'conversation.item.done',
          item: { id: 'i', type: 'function_call', call_id: 'c', name: 'n', arguments: '{}' },
        },
        'ga',
      ),
    ).toMatchObject({
      type: 'model.itemDone',
      item: { id: 'i', callId: 'c', name: 'n' },
    });
  });

  it('unknown but well-formed events pass through as model.other', () => {
    expect(parse({ type: 'conversation.item.retrieved', item: { id: 'x', type: 'message' } }, 'ga')).toEqual({
      type: 'model.other',
      wireType: 'conversation.item.retrieved',
    });
    expect(parse({ type: 'response.content_part.added', ...ids, part: { type: 'audio' } }, 'beta')).toEqual({
      type: 'model.other',
      wireType: 'response.content_part.added',
    });
  });
});

describe('parseServerEvent: MCP events (PROTOCOLS.md §10.3)', () => {
  it('listing and call events become model.mcp with their item (and output index for calls)', () => {
    for (const phase of ['in_progress', 'completed', 'failed'] as const)
      expect(parse({ type: `mcp_list_tools.${phase}`, event_id: 'e', item_id: 'mcpl_1' }, 'ga')).toEqual({
        type: 'model.mcp',
        phase: `mcp_list_tools.${phase}`,
        itemId: 'mcpl_1',
        outputIndex: null,
      });
    expect(parse({ type: 'response.mcp_call_arguments.delta', ...ids, delta: '{"a' }, 'ga')).toEqual({
      type: 'model.mcp',
      phase: 'mcp_call_arguments.delta',
      itemId: 'item_1',
      outputIndex: 0,
    });
    expect(parse({ type: 'response.mcp_call_arguments.done', ...ids, arguments: '{}' }, 'ga')).toMatchObject({
      phase: 'mcp_call_arguments.done',
    });
    for (const phase of ['in_progress', 'completed', 'failed'] as const)
      expect(parse({ type: `response.mcp_call.${phase}`, item_id: 'item_1', output_index: 2 }, 'ga')).toEqual({
        type: 'model.mcp',
        phase: `mcp_call.${phase}`,
        itemId: 'item_1',
        outputIndex: 2,
      });
  });

  it('an mcp_call item carries its server, output and error (an object error becomes its message)', () => {
    const item = { id: 'item_1', type: 'mcp_call', server_label: 'crm', name: 'find', arguments: '{"a":1}' };
    expect(
      parse({ type: 'response.output_item.done', ...ids, item: { ...item, output: 'found' } }, 'ga'),
    ).toMatchObject({
      type: 'model.outputItemDone',
      item: {
        type: 'mcp_call',
        name: 'find',
        arguments: '{"a":1}',
        mcp: { serverLabel: 'crm', output: 'found', error: null },
      },
    });
    const error = { type: 'tool_execution_error', message: 'no such customer' };
    expect(parse({ type: 'conversation.item.done', item: { ...item, output: null, error } }, 'ga')).toMatchObject({
      item: { mcp: { serverLabel: 'crm', output: null, error: 'no such customer' } },
    });
  });

  it('a call event without its item id is a reason naming the field', () => {
    expect(parseServerEvent('{"type":"response.mcp_call.completed","output_index":0}', 'ga')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('item_id') as string,
    });
  });
});

describe('parseServerEvent: bad input is a reason, never a throw', () => {
  const bad: [string, string][] = [
    ['not JSON', '{"type":'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"response.done"'],
    ['no type', '{"event_id":"e"}'],
    ['empty type', '{"type":""}'],
    [
      'missing field',
      '{"type":"response.output_audio.delta","response_id":"r","item_id":"i","output_index":0,"content_index":0}',
    ],
    ['wrong field type', '{"type":"input_audio_buffer.speech_started","audio_start_ms":"700","item_id":"i"}'],
    [
      'bad base64',
      '{"type":"response.output_audio.delta","response_id":"r","item_id":"i","output_index":0,"content_index":0,' +
        '"delta":"@@@"}',
    ],
  ];
  for (const [name, text] of bad) {
    it(name, () => {
      const result = parseServerEvent(text, 'ga');
      expect(result.ok).toBe(false);
    });
  }

  it('the reason names the event and field but never quotes a payload value', () => {
    const secret = 'sk-live-SECRET-VALUE';
    const result = parseServerEvent(
      JSON.stringify({ type: 'input_audio_buffer.speech_started', audio_start_ms: secret, item_id: 'i' }),
      'ga',
    );
    expect(result).toMatchObject({ ok: false });
    if (!result.ok) {
      expect(result.reason).toContain('input_audio_buffer.speech_started');
      expect(result.reason).toContain('audio_start_ms');
      expect(result.reason).not.toContain(secret);
    }
  });

  it('never throws on arbitrary text or JSON (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), fc.constantFrom<Dialect>('ga', 'beta'), (text, dialect) => {
        const result = parseServerEvent(text, dialect);
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary objects with a known type (property)', () => {
    const types = [
      'response.output_audio.delta',
      'response.audio.delta',
      'response.done',
      'session.created',
      'error',
      'conversation.item.added',
      'conversation.item.created',
      'rate_limits.updated',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.constantFrom<Dialect>('ga', 'beta'),
        (type, body, dialect) => {
          const result = parseServerEvent(JSON.stringify({ ...body, type }), dialect);
          expect(typeof result.ok).toBe('boolean');
        },
      ),
      { numRuns: 500 },
    );
  });
});
