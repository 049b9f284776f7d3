import { describe, expect, it } from 'vitest';

import { ModelWatch, modelErrorLog, renewalDelayMs } from '../../../src/call/model-session.js';

describe('model session bookkeeping', () => {
  it('renewal: the lead before the end, half-way through a short session, none for a useless expiry', () => {
    expect(renewalDelayMs(3_600_000, 0, 120_000)).toBe(3_480_000);
    expect(renewalDelayMs(90_000, 0, 120_000)).toBe(45_000);
    expect(renewalDelayMs(1_500, 0, 120_000)).toBe(1_000);
    expect(renewalDelayMs(0, 10, 120_000)).toBeNull();
    expect(renewalDelayMs(null, 0, 120_000)).toBeNull();
  });

  it('the stall timer: reconnect a model that owes an answer, probe an idle live one, nothing when closed', () => {
    const w = new ModelWatch(8_000, 120_000);
    expect(w.stalled(true, false, true)).toBe('probe');
    expect(w.stalled(true, true, true)).toBe('reconnect');
    w.owed = true;
    expect(w.stalled(true, false, false)).toBe('reconnect');
    expect(w.stalled(false, true, true)).toBeNull();
    expect(w.rearm(false, true)).toEqual({ type: 'timer.cancel', name: 'modelStall' });
    expect(w.rearm(true, false)).toEqual({ type: 'timer.set', name: 'modelStall', delayMs: 8_000 });
  });

  it('model errors: known noise at a quiet level, others as warnings; any code is just a string', () => {
    expect(modelErrorLog('response_cancel_not_active', 'x')).toMatchObject({ level: 'debug' });
    expect(modelErrorLog('constructor', 'y'.repeat(1000))).toEqual({
      type: 'log',
      level: 'warn',
      msg: 'model error',
      fields: { code: 'constructor', message: 'y'.repeat(300) },
    });
  });
});
