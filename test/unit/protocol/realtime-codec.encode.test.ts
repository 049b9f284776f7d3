import { describe, expect, it } from 'vitest';

import { encodeAppendAudioFrame, encodeClientEvent, parseServerEvent } from '../../../src/protocol/realtime-codec.js';
import type { ModelCommand, SessionConfig } from '../../../src/protocol/realtime.js';
import { clientEventToGa, serverEventFromGa } from '../../../src/protocol/dialects.js';

const session: SessionConfig = {
  instructions: 'You are a receptionist.',
  voice: 'alloy',
  audioFormat: 'pcm16',
  turnDetection: {
    type: 'server_vad',
    threshold: 0.5,
    prefixPaddingMs: 300,
    silenceDurationMs: 500,
    createResponse: true,
    interruptResponse: true,
  },
  transcription: { model: 'whisper-1', language: 'en' },
  tools: [{ name: 'hang_up', description: 'End the call', parameters: { type: 'object', properties: {} } }],
};

describe('encodeClientEvent: session.update', () => {
  it('GA: session.type realtime, nested audio, function tools, tool_choice auto', () => {
    expect(encodeClientEvent({ type: 'model.updateSession', session }, 'ga')).toEqual({
      type: 'session.update',
      session: {
        type: 'realtime',
        instructions: 'You are a receptionist.',
        output_modalities: ['audio'],
        audio: {
          input: {
            format: { type: 'audio/pcm', rate: 24000 },
            transcription: { model: 'whisper-1', language: 'en' },
            turn_detection: {
              type: 'server_vad',
              threshold: 0.5,
              prefix_padding_ms: 300,
              silence_duration_ms: 500,
              create_response: true,
              interrupt_response: true,
            },
          },
          output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'alloy' },
        },
        tools: [
          {
            type: 'function',
            name: 'hang_up',
            description: 'End the call',
            parameters: { type: 'object', properties: {} },
          },
        ],
        tool_choice: 'auto',
      },
    });
  });

  it('GA: a via-model MCP server follows the functions as a type "mcp" tool without approval', () => {
    const withMcp: SessionConfig = {
      ...session,
      mcpServers: [
        {
          serverLabel: 'crm',
          serverUrl: 'https://crm.example/mcp',
          allowedTools: ['find_customer'],
          headers: { Authorization: 'Bearer t' },
        },
        { serverLabel: 'docs', serverUrl: 'https://docs.example/mcp', allowedTools: null, headers: {} },
      ],
    };
    const wire = encodeClientEvent({ type: 'model.updateSession', session: withMcp }, 'ga');
    expect((wire['session'] as { tools: unknown[] }).tools.slice(1)).toEqual([
      {
        type: 'mcp',
        server_label: 'crm',
        server_url: 'https://crm.example/mcp',
        allowed_tools: ['find_customer'],
        headers: { Authorization: 'Bearer t' },
        require_approval: 'never',
      },
      { type: 'mcp', server_label: 'docs', server_url: 'https://docs.example/mcp', require_approval: 'never' },
    ]);
  });

  it('beta: flat session with modalities, voice and format strings', () => {
    expect(
      encodeClientEvent(
        {
          type: 'model.updateSession',
          session: { ...session, audioFormat: 'pcmu', transcription: null, turnDetection: null },
        },
        'beta',
        'evt_1',
      ),
    ).toEqual({
      event_id: 'evt_1',
      type: 'session.update',
      session: {
        instructions: 'You are a receptionist.',
        modalities: ['text', 'audio'],
        input_audio_format: 'g711_ulaw',
        input_audio_transcription: null,
        turn_detection: null,
        output_audio_format: 'g711_ulaw',
        voice: 'alloy',
        tools: [
          {
            type: 'function',
            name: 'hang_up',
            description: 'End the call',
            parameters: { type: 'object', properties: {} },
          },
        ],
        tool_choice: 'auto',
      },
    });
  });

  it('semantic VAD', () => {
    const wire = encodeClientEvent(
      {
        type: 'model.updateSession',
        session: {
          ...session,
          turnDetection: { type: 'semantic_vad', eagerness: 'high', createResponse: true, interruptResponse: false },
        },
      },
      'ga',
    ) as { session: { audio: { input: { turn_detection: unknown } } } };
    expect(wire.session.audio.input.turn_detection).toEqual({
      type: 'semantic_vad',
      eagerness: 'high',
      create_response: true,
      interrupt_response: false,
    });
  });
});

describe('encodeClientEvent: the other commands', () => {
  const table: { cmd: ModelCommand; ga: object; beta?: object }[] = [
    {
      cmd: { type: 'model.appendAudio', audio: new Uint8Array([0xff, 0x7f, 0x00]) },
      ga: { type: 'input_audio_buffer.append', audio: '/38A' },
    },
    { cmd: { type: 'model.commitAudio' }, ga: { type: 'input_audio_buffer.commit' } },
    { cmd: { type: 'model.clearAudio' }, ga: { type: 'input_audio_buffer.clear' } },
    { cmd: { type: 'model.createResponse' }, ga: { type: 'response.create' } },
    {
      cmd: { type: 'model.createResponse', instructions: 'Greet the caller.' },
      ga: { type: 'response.create', response: { instructions: 'Greet the caller.' } },
    },
    { cmd: { type: 'model.cancelResponse' }, ga: { type: 'response.cancel' } },
    {
      cmd: { type: 'model.cancelResponse', responseId: 'resp_1' },
      ga: { type: 'response.cancel', response_id: 'resp_1' },
    },
    {
      cmd: { type: 'model.truncate', itemId: 'item_1', contentIndex: 0, audioEndMs: 1234.9 },
      ga: { type: 'conversation.item.truncate', item_id: 'item_1', content_index: 0, audio_end_ms: 1234 },
    },
    {
      cmd: { type: 'model.deleteItem', itemId: 'item_1' },
      ga: { type: 'conversation.item.delete', item_id: 'item_1' },
    },
    {
      cmd: { type: 'model.createItem', item: { kind: 'message', role: 'user', text: 'The caller pressed 5.' } },
      ga: {
        type: 'conversation.item.create',
        item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'The caller pressed 5.' }] },
      },
    },
    {
      cmd: { type: 'model.createItem', item: { kind: 'message', role: 'system', text: 'Summary so far.' } },
      ga: {
        type: 'conversation.item.create',
        item: { type: 'message', role: 'system', content: [{ type: 'input_text', text: 'Summary so far.' }] },
      },
    },
    {
      cmd: { type: 'model.createItem', item: { kind: 'message', role: 'assistant', text: 'Hello, how can I help?' } },
      ga: {
        type: 'conversation.item.create',
        item: {
          type: 'message',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Hello, how can I help?' }],
        },
      },
      beta: {
        type: 'conversation.item.create',
        item: { type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Hello, how can I help?' }] },
      },
    },
    {
      cmd: {
        type: 'model.createItem',
        item: { kind: 'function_call_output', callId: 'call_7', output: '{"ok":true}' },
      },
      ga: {
        type: 'conversation.item.create',
        item: { type: 'function_call_output', call_id: 'call_7', output: '{"ok":true}' },
      },
    },
  ];
  for (const { cmd, ga, beta } of table) {
    it(`${cmd.type} ${JSON.stringify(ga).slice(0, 60)}`, () => {
      expect(encodeClientEvent(cmd, 'ga')).toEqual(ga);
      expect(encodeClientEvent(cmd, 'beta')).toEqual(beta ?? ga);
    });
  }

  it('a Uint8Array view into a larger buffer encodes only its own bytes', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    const view = backing.subarray(2, 5);
    expect(encodeClientEvent({ type: 'model.appendAudio', audio: view }, 'ga')).toEqual({
      type: 'input_audio_buffer.append',
      audio: Buffer.from([1, 2, 3]).toString('base64'),
    });
  });
});

describe('dialects: beta is an adapter of GA', () => {
  it('a beta-encoded session.update reads back as the GA one', () => {
    const ga = encodeClientEvent({ type: 'model.updateSession', session }, 'ga');
    const beta = encodeClientEvent({ type: 'model.updateSession', session }, 'beta');
    expect(clientEventToGa(beta, 'beta')).toEqual(ga);
  });

  it('a GA server session echoed through the beta adapter parses to the same summary', () => {
    const ga = encodeClientEvent({ type: 'model.updateSession', session }, 'ga') as { session: object };
    const serverGa = { type: 'session.updated', event_id: 'e', session: ga.session };
    const serverBeta = serverEventFromGa(serverGa, 'beta');
    const fromGa = parseServerEvent(JSON.stringify(serverGa), 'ga');
    const fromBeta = parseServerEvent(JSON.stringify(serverBeta), 'beta');
    expect(fromGa).toEqual({ ok: true, event: { type: 'model.sessionUpdated', session } });
    expect(fromBeta).toEqual(fromGa);
  });

  it('GA-only events are not sent in beta; renamed ones are', () => {
    expect(serverEventFromGa({ type: 'conversation.item.done', item: {} }, 'beta')).toBeNull();
    expect(
      serverEventFromGa(
        { type: 'conversation.item.added', item: { id: 'i', role: 'assistant', content: [{ type: 'output_audio' }] } },
        'beta',
      ),
    ).toEqual({
      type: 'conversation.item.created',
      item: { id: 'i', role: 'assistant', content: [{ type: 'audio' }] },
    });
    expect(
      serverEventFromGa({ type: 'response.function_call_arguments.done', name: 'x', arguments: '{}' }, 'beta'),
    ).toEqual({
      type: 'response.function_call_arguments.done',
      arguments: '{}',
    });
    expect(serverEventFromGa({ type: 'response.output_audio.delta', delta: 'AA==' }, 'beta')).toEqual({
      type: 'response.audio.delta',
      delta: 'AA==',
    });
  });
});

describe('model.probe', () => {
  it('is a session.update that changes nothing, in both dialects', () => {
    expect(encodeClientEvent({ type: 'model.probe' }, 'ga')).toEqual({
      type: 'session.update',
      session: { type: 'realtime' },
    });
    expect(encodeClientEvent({ type: 'model.probe' }, 'beta')).toEqual({ type: 'session.update', session: {} });
  });
});

describe('encodeAppendAudioFrame', () => {
  it.each([0, 1, 2, 3, 160, 960, 961])(
    'is the UTF-8 JSON of the append event in both dialects (%d bytes, from a pooled slice)',
    (n) => {
      const pool = Buffer.alloc(n + 7);
      for (let i = 0; i < pool.length; i++) pool[i] = (i * 37 + 11) & 0xff;
      const audio = pool.subarray(3, 3 + n);
      for (const dialect of ['ga', 'beta'] as const) {
        expect(encodeAppendAudioFrame(audio).toString('utf8')).toBe(
          JSON.stringify(encodeClientEvent({ type: 'model.appendAudio', audio }, dialect)),
        );
      }
    },
  );
});
