import { describe, expect, it } from 'vitest';

import { CallerKeypad, MAX_HELD_DIGITS } from '../../../src/call/caller-keypad.js';
import { liveSession } from '../../support/call-builders.js';

describe('keypad digits are bounded (issue #14 item 13)', () => {
  it('digits are held until the pause, then given as one text', () => {
    const k = new CallerKeypad();
    expect(k.press('4')).toBeNull();
    expect(k.press('2')).toBeNull();
    expect(k.take()).toBe('The caller pressed these keys on the phone keypad: 4 2');
    expect(k.take()).toBeNull();
  });

  it(`never holds more than ${MAX_HELD_DIGITS} digits: a full buffer is sent at once, nothing is lost`, () => {
    const k = new CallerKeypad();
    const sent: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const text = k.press(String(i % 10));
      if (text !== null) sent.push(text);
      expect(k.held).toBeLessThan(MAX_HELD_DIGITS);
    }
    const rest = k.take();
    const digits = [...sent, rest ?? ''].map((t) => t.replace(/^[^:]*: ?/, '').replaceAll(' ', '')).join('');
    expect(digits).toHaveLength(10_000);
    expect(sent).toHaveLength(Math.floor(10_000 / MAX_HELD_DIGITS));
  });

  it('a stream sending dtmf in a loop gets one text item per full buffer, not one per key', () => {
    const h = liveSession();
    const cmds = h.feedAll(Array.from({ length: 400 }, () => ({ type: 'twilio.dtmf' as const, digit: '7' })));
    const items = cmds.filter((c) => c.type === 'model.createItem');
    expect(items).toHaveLength(400 / MAX_HELD_DIGITS);
    const first = items[0];
    const text = first?.type === 'model.createItem' && first.item.kind === 'message' ? first.item.text : '';
    expect(text).toMatch(/: (7 ){39}7$/);
  });
});
