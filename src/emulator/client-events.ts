/**
 * Shape checks for client events arriving at the emulator, after translation to GA shape.
 * Each failure is the `error` the real API would answer with (missing / unknown / mistyped
 * parameter), so a client bug shows up in tests against the emulator as it would in production.
 */
import { isWireObject, type WireObject } from '../protocol/wire-object.js';

import { wireErrors, type WireError } from './wire-errors.js';

/** Client event types the emulator understands (GA names; beta uses the same ones). */
export const CLIENT_EVENT_TYPES = [
  'session.update',
  'input_audio_buffer.append',
  'input_audio_buffer.commit',
  'input_audio_buffer.clear',
  'conversation.item.create',
  'conversation.item.retrieve',
  'conversation.item.truncate',
  'conversation.item.delete',
  'response.create',
  'response.cancel',
  'output_audio_buffer.clear',
] as const;

/** One of {@link CLIENT_EVENT_TYPES}. */
export type ClientEventType = (typeof CLIENT_EVENT_TYPES)[number];

function requireString(event: WireObject, key: string): WireError | null {
  const v = event[key];
  if (v === undefined) return wireErrors.missingParameter(key);
  if (typeof v !== 'string') return wireErrors.invalidType(key, 'a string', v);
  return null;
}

function requireInteger(event: WireObject, key: string): WireError | null {
  const v = event[key];
  if (v === undefined) return wireErrors.missingParameter(key);
  if (typeof v !== 'number' || !Number.isInteger(v)) return wireErrors.invalidType(key, 'an integer', v);
  if (v < 0) return wireErrors.invalidValue(key, v);
  return null;
}

const CONTENT_TYPES: Readonly<Record<string, readonly string[]>> = {
  user: ['input_text', 'input_audio', 'input_image'],
  system: ['input_text'],
  assistant: ['output_text', 'output_audio'],
};

/** Checks a GA-shaped `item` of `conversation.item.create`. */
export function checkItem(item: unknown): WireError | null {
  if (item === undefined) return wireErrors.missingParameter('item');
  if (!isWireObject(item)) return wireErrors.invalidType('item', 'an object', item);
  const type = item['type'];
  if (type === 'message') {
    const role = item['role'];
    const allowed = typeof role === 'string' ? CONTENT_TYPES[role] : undefined;
    if (allowed === undefined) return wireErrors.invalidValue('item.role', role, ['user', 'assistant', 'system']);
    const content = item['content'];
    if (!Array.isArray(content)) return wireErrors.missingParameter('item.content');
    for (let i = 0; i < content.length; i++) {
      const part: unknown = content[i];
      if (!isWireObject(part)) return wireErrors.invalidType(`item.content[${i}]`, 'an object', part);
      if (!allowed.includes(part['type'] as string))
        return wireErrors.invalidValue(`item.content[${i}].type`, part['type'], allowed);
      if ((part['type'] === 'input_text' || part['type'] === 'output_text') && typeof part['text'] !== 'string') {
        return wireErrors.missingParameter(`item.content[${i}].text`);
      }
    }
    return null;
  }
  if (type === 'function_call_output') {
    if (typeof item['call_id'] !== 'string') return wireErrors.missingParameter('item.call_id');
    if (typeof item['output'] !== 'string') return wireErrors.missingParameter('item.output');
    return null;
  }
  if (type === 'function_call') {
    for (const key of ['call_id', 'name', 'arguments'])
      if (typeof item[key] !== 'string') return wireErrors.missingParameter(`item.${key}`);
    return null;
  }
  return wireErrors.invalidValue('item.type', type, ['message', 'function_call', 'function_call_output']);
}

/**
 * Checks one GA-shaped client event. Returns null when the shape is fine; the handler still
 * checks what depends on state (item ids, active response, buffer length).
 */
export function checkClientEvent(event: WireObject): WireError | null {
  const type = event['type'];
  if (type === undefined) return wireErrors.missingParameter('type');
  if (typeof type !== 'string' || !(CLIENT_EVENT_TYPES as readonly string[]).includes(type)) {
    return wireErrors.invalidValue('type', type, CLIENT_EVENT_TYPES);
  }
  const id = event['event_id'];
  if (id !== undefined && typeof id !== 'string') return wireErrors.invalidType('event_id', 'a string', id);
  switch (type as ClientEventType) {
    case 'session.update':
      return event['session'] === undefined ? wireErrors.missingParameter('session') : null;
    case 'input_audio_buffer.append':
      return requireString(event, 'audio');
    case 'conversation.item.create': {
      const prev = event['previous_item_id'];
      if (prev !== undefined && prev !== null && typeof prev !== 'string')
        return wireErrors.invalidType('previous_item_id', 'a string', prev);
      return checkItem(event['item']);
    }
    case 'conversation.item.retrieve':
    case 'conversation.item.delete':
      return requireString(event, 'item_id');
    case 'conversation.item.truncate':
      return (
        requireString(event, 'item_id') ??
        requireInteger(event, 'content_index') ??
        requireInteger(event, 'audio_end_ms')
      );
    case 'response.create': {
      const r = event['response'];
      if (r !== undefined && !isWireObject(r)) return wireErrors.invalidType('response', 'an object', r);
      return null;
    }
    case 'response.cancel': {
      const r = event['response_id'];
      if (r !== undefined && typeof r !== 'string') return wireErrors.invalidType('response_id', 'a string', r);
      return null;
    }
    default:
      return null;
  }
}
