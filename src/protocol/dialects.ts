/**
 * Beta ⇄ GA translation of Realtime wire events, both directions (DESIGN "both dialects, one
 * vocabulary"; PROTOCOLS.md §5.3 mapping table). This is the only module that knows how the
 * two dialects differ.
 *
 * The GA dialect is canonical: everything inside the bridge and the emulator works on GA
 * shapes, and the beta dialect is an adapter at the edge.
 * - Server events: {@link serverEventToGa} (beta wire → GA shape; the link's parser uses it)
 *   and {@link serverEventFromGa} (GA shape → beta wire; the emulator uses it).
 * - Client events: {@link clientEventFromGa} (GA shape → beta wire; the link's encoder) and
 *   {@link clientEventToGa} (beta wire → GA shape; the emulator).
 *
 * All functions are pure, never throw, and never mutate their input; fields they do not know
 * are carried over untouched so that a validator downstream still sees them.
 *
 * Upstream: openai-node `resources/realtime` (GA) and `resources/beta/realtime` (beta);
 * Azure "Realtime API preview → GA migration guide" (2026-02-23).
 */
import { isWireObject, type WireObject } from './wire-object.js';

/** The Realtime API's two wire dialects: `ga` (canonical) and the older `beta`. */
export type Dialect = 'ga' | 'beta';

/** `map[key]` for the map's own keys only: wire strings such as "constructor" must not reach Object.prototype. */
function own<V>(map: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/** Server event types renamed in GA (beta → GA). */
const SERVER_TYPE_BETA_TO_GA: Readonly<Record<string, string>> = {
  'response.audio.delta': 'response.output_audio.delta',
  'response.audio.done': 'response.output_audio.done',
  'response.audio_transcript.delta': 'response.output_audio_transcript.delta',
  'response.audio_transcript.done': 'response.output_audio_transcript.done',
  'response.text.delta': 'response.output_text.delta',
  'response.text.done': 'response.output_text.done',
};

/** GA → beta; `null` means the event does not exist in beta and is not sent. */
const SERVER_TYPE_GA_TO_BETA: Readonly<Record<string, string | null>> = {
  ...Object.fromEntries(Object.entries(SERVER_TYPE_BETA_TO_GA).map(([beta, ga]) => [ga, beta])),
  // beta announces items with `.created`; GA with `.added` (+ `.done` when finalised)
  'conversation.item.added': 'conversation.item.created',
  'conversation.item.done': null,
};

/** The canonical (GA) name of a server event type seen on the wire in `dialect`. */
export function gaServerEventType(wireType: string, dialect: Dialect): string {
  return dialect === 'beta' ? (own(SERVER_TYPE_BETA_TO_GA, wireType) ?? wireType) : wireType;
}

/** The wire name of a GA server event type in `dialect`; `null` when that dialect has no such event. */
export function wireServerEventType(gaType: string, dialect: Dialect): string | null {
  if (dialect === 'ga') return gaType;
  const mapped = own(SERVER_TYPE_GA_TO_BETA, gaType);
  return mapped === undefined ? gaType : mapped;
}

// ---------------------------------------------------------------------------------------------
// Audio formats
// ---------------------------------------------------------------------------------------------

/** Beta format string → GA format object. Unknown strings pass through unchanged. */
export function betaFormatToGa(format: unknown): unknown {
  switch (format) {
    case 'pcm16':
      return { type: 'audio/pcm', rate: 24000 };
    case 'g711_ulaw':
      return { type: 'audio/pcmu' };
    case 'g711_alaw':
      return { type: 'audio/pcma' };
    default:
      return format;
  }
}

/** GA format object → beta format string. Unknown shapes pass through unchanged. */
export function gaFormatToBeta(format: unknown): unknown {
  if (!isWireObject(format)) return format;
  switch (format['type']) {
    case 'audio/pcm':
      return 'pcm16';
    case 'audio/pcmu':
      return 'g711_ulaw';
    case 'audio/pcma':
      return 'g711_alaw';
    default:
      return format;
  }
}

// ---------------------------------------------------------------------------------------------
// Session objects (session.update / session.created / session.updated)
// ---------------------------------------------------------------------------------------------

/**
 * Beta flat session → GA nested session. Only the keys present are mapped (updates are
 * partial); `temperature` has no GA equivalent and is dropped; unknown keys are kept.
 * `type: "realtime"` is added, since GA requires it and beta has no other kind here.
 */
export function betaSessionToGa(session: WireObject): WireObject {
  const out: WireObject = { type: 'realtime' };
  const input: WireObject = {};
  const output: WireObject = {};
  for (const [key, value] of Object.entries(session)) {
    switch (key) {
      case 'modalities':
        out['output_modalities'] = Array.isArray(value) && value.includes('audio') ? ['audio'] : value;
        break;
      case 'voice':
        output['voice'] = value;
        break;
      case 'speed':
        output['speed'] = value;
        break;
      case 'output_audio_format':
        output['format'] = betaFormatToGa(value);
        break;
      case 'input_audio_format':
        input['format'] = betaFormatToGa(value);
        break;
      case 'input_audio_transcription':
        input['transcription'] = value;
        break;
      case 'input_audio_noise_reduction':
        input['noise_reduction'] = value;
        break;
      case 'turn_detection':
        input['turn_detection'] = value;
        break;
      case 'max_response_output_tokens':
        out['max_output_tokens'] = value;
        break;
      case 'temperature':
        break;
      default:
        out[key] = value;
    }
  }
  if (Object.keys(input).length > 0 || Object.keys(output).length > 0) {
    const audio: WireObject = {};
    if (Object.keys(input).length > 0) audio['input'] = input;
    if (Object.keys(output).length > 0) audio['output'] = output;
    out['audio'] = audio;
  }
  return out;
}

/**
 * GA nested session → beta flat session. Only the keys present are mapped; `type` is
 * dropped (beta has no discriminator); `output_modalities: ["audio"]` becomes
 * `modalities: ["text", "audio"]` (beta rejects audio alone).
 */
export function gaSessionToBeta(session: WireObject): WireObject {
  const out: WireObject = {};
  for (const [key, value] of Object.entries(session)) {
    switch (key) {
      case 'type':
        break;
      case 'output_modalities':
        out['modalities'] = Array.isArray(value) && value.includes('audio') ? ['text', 'audio'] : value;
        break;
      case 'max_output_tokens':
        out['max_response_output_tokens'] = value;
        break;
      case 'audio': {
        if (!isWireObject(value)) break;
        const input = value['input'];
        const output = value['output'];
        if (isWireObject(input)) {
          if ('format' in input) out['input_audio_format'] = gaFormatToBeta(input['format']);
          if ('transcription' in input) out['input_audio_transcription'] = input['transcription'];
          if ('noise_reduction' in input) out['input_audio_noise_reduction'] = input['noise_reduction'];
          if ('turn_detection' in input) out['turn_detection'] = input['turn_detection'];
        }
        if (isWireObject(output)) {
          if ('format' in output) out['output_audio_format'] = gaFormatToBeta(output['format']);
          if ('voice' in output) out['voice'] = output['voice'];
          if ('speed' in output) out['speed'] = output['speed'];
        }
        break;
      }
      default:
        out[key] = value;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Items and responses
// ---------------------------------------------------------------------------------------------

/** Assistant content part types: beta `text`/`audio` ⇄ GA `output_text`/`output_audio`. */
function mapAssistantContent(item: WireObject, map: Readonly<Record<string, string>>): WireObject {
  if (item['role'] !== 'assistant' || !Array.isArray(item['content'])) return item;
  return {
    ...item,
    content: item['content'].map((part: unknown) => {
      if (!isWireObject(part) || typeof part['type'] !== 'string') return part;
      const mapped = own(map, part['type']);
      return mapped === undefined ? part : { ...part, type: mapped };
    }),
  };
}

const CONTENT_BETA_TO_GA: Readonly<Record<string, string>> = { text: 'output_text', audio: 'output_audio' };
const CONTENT_GA_TO_BETA: Readonly<Record<string, string>> = { output_text: 'text', output_audio: 'audio' };

/** An item in beta spelling → GA spelling (assistant content types). */
export function betaItemToGa(item: unknown): unknown {
  return isWireObject(item) ? mapAssistantContent(item, CONTENT_BETA_TO_GA) : item;
}

/** An item in GA spelling → beta spelling (assistant content types). */
export function gaItemToBeta(item: unknown): unknown {
  return isWireObject(item) ? mapAssistantContent(item, CONTENT_GA_TO_BETA) : item;
}

/** Response objects (`response.created`/`.done`, and `response.create` parameters). */
function betaResponseToGa(response: unknown): unknown {
  if (!isWireObject(response)) return response;
  const out: WireObject = {};
  const audioOutput: WireObject = {};
  for (const [key, value] of Object.entries(response)) {
    switch (key) {
      case 'modalities':
        out['output_modalities'] = Array.isArray(value) && value.includes('audio') ? ['audio'] : value;
        break;
      case 'voice':
        audioOutput['voice'] = value;
        break;
      case 'output_audio_format':
        audioOutput['format'] = betaFormatToGa(value);
        break;
      case 'max_response_output_tokens':
        out['max_output_tokens'] = value;
        break;
      case 'temperature':
        break;
      case 'output':
        out['output'] = Array.isArray(value) ? value.map(betaItemToGa) : value;
        break;
      default:
        out[key] = value;
    }
  }
  if (Object.keys(audioOutput).length > 0) out['audio'] = { output: audioOutput };
  return out;
}

function gaResponseToBeta(response: unknown): unknown {
  if (!isWireObject(response)) return response;
  const out: WireObject = {};
  for (const [key, value] of Object.entries(response)) {
    switch (key) {
      case 'output_modalities':
        out['modalities'] = Array.isArray(value) && value.includes('audio') ? ['text', 'audio'] : value;
        break;
      case 'max_output_tokens':
        out['max_response_output_tokens'] = value;
        break;
      case 'audio': {
        const output = isWireObject(value) ? value['output'] : undefined;
        if (isWireObject(output)) {
          if ('voice' in output) out['voice'] = output['voice'];
          if ('format' in output) out['output_audio_format'] = gaFormatToBeta(output['format']);
        }
        break;
      }
      case 'output':
        out['output'] = Array.isArray(value) ? value.map(gaItemToBeta) : value;
        break;
      default:
        out[key] = value;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Whole events
// ---------------------------------------------------------------------------------------------

/**
 * A server event as received in `dialect` → the same event in GA shape (type renamed,
 * session nested, assistant content types and response fields renamed). GA input is returned
 * as is.
 */
export function serverEventToGa(event: WireObject, dialect: Dialect): WireObject {
  if (dialect === 'ga') return event;
  const out: WireObject = { ...event };
  if (typeof event['type'] === 'string') out['type'] = gaServerEventType(event['type'], 'beta');
  if (isWireObject(event['session'])) out['session'] = betaSessionToGa(event['session']);
  if ('item' in event) out['item'] = betaItemToGa(event['item']);
  if ('response' in event) out['response'] = betaResponseToGa(event['response']);
  return out;
}

/**
 * A GA-shaped server event → the wire event for `dialect`, or `null` when that dialect has
 * no such event (`conversation.item.done` in beta). Beta's `function_call_arguments.done`
 * carries no `name`.
 */
export function serverEventFromGa(event: WireObject, dialect: Dialect): WireObject | null {
  if (dialect === 'ga') return event;
  const type = typeof event['type'] === 'string' ? event['type'] : '';
  const wireType = wireServerEventType(type, 'beta');
  if (wireType === null) return null;
  const out: WireObject = { ...event, type: wireType };
  if (isWireObject(event['session'])) out['session'] = gaSessionToBeta(event['session']);
  if ('item' in event) out['item'] = gaItemToBeta(event['item']);
  if ('response' in event) out['response'] = gaResponseToBeta(event['response']);
  if (wireType === 'response.function_call_arguments.done') delete out['name'];
  return out;
}

/** A GA-shaped client event → the wire event for `dialect`. */
export function clientEventFromGa(event: WireObject, dialect: Dialect): WireObject {
  if (dialect === 'ga') return event;
  const out: WireObject = { ...event };
  if (event['type'] === 'session.update' && isWireObject(event['session']))
    out['session'] = gaSessionToBeta(event['session']);
  if ('item' in event) out['item'] = gaItemToBeta(event['item']);
  if (event['type'] === 'response.create' && 'response' in event) out['response'] = gaResponseToBeta(event['response']);
  return out;
}

/**
 * A client event as received in `dialect` → GA shape. Beta `session.update` sessions are
 * nested (see {@link betaSessionToGa}); assistant text content `text` becomes `output_text`.
 */
export function clientEventToGa(event: WireObject, dialect: Dialect): WireObject {
  if (dialect === 'ga') return event;
  const out: WireObject = { ...event };
  if (event['type'] === 'session.update' && isWireObject(event['session']))
    out['session'] = betaSessionToGa(event['session']);
  if ('item' in event) out['item'] = betaItemToGa(event['item']);
  if (event['type'] === 'response.create' && 'response' in event) out['response'] = betaResponseToGa(event['response']);
  return out;
}
