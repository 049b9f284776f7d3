/**
 * Server event types that are names of Object.prototype members (found by the fuzz suite:
 * `{"type":"__proto__"}` threw "mapper is not a function", `"hasOwnProperty"` threw "Cannot
 * convert undefined or null to object" inside the realtime socket callback, and
 * `"constructor"` came out as a "parsed" event holding the raw wire object). They are
 * well-formed unknown events: `model.other`, in both dialects.
 */
import { describe, expect, it } from 'vitest';

import type { Dialect } from '../../../src/protocol/dialects.js';
import { parseServerEvent } from '../../../src/protocol/realtime-codec.js';

const PROTOTYPE_NAMES = [
  '__proto__',
  'constructor',
  'toString',
  'toLocaleString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  '__defineGetter__',
  '__lookupGetter__',
];

describe.each(['ga', 'beta'] as Dialect[])(
  'parseServerEvent (%s): types named like Object.prototype members',
  (dialect) => {
    it.each(PROTOTYPE_NAMES)('"%s" is an unknown event, not a crash or a raw object', (type) => {
      expect(parseServerEvent(JSON.stringify({ type, event_id: 'event_1', response_id: 'resp_1' }), dialect)).toEqual({
        ok: true,
        event: { type: 'model.other', wireType: type },
      });
    });

    it('a content part typed "constructor" keeps its string type (and the item parses)', () => {
      const item = {
        id: 'item_1',
        type: 'message',
        role: 'assistant',
        content: [{ type: 'constructor', transcript: 'hi' }],
      };
      const result = parseServerEvent(
        JSON.stringify({ type: 'conversation.item.created', event_id: 'e', previous_item_id: null, item }),
        dialect,
      );
      expect(result.ok && result.event.type === 'model.itemAdded' ? result.event.item.text : result).toBe('hi');
    });
  },
);
