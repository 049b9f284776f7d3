/**
 * When the session is renewed, by `session.created`'s `expires_at` (found by the fuzz suite:
 * an expiry of 0 or in the past, or a session shorter than the renewal lead, set the renewal
 * timer to 1 s; the renewed session reported the same expiry, so the call reconnected its
 * model every second).
 */
import { describe, expect, it } from 'vitest';

import type { CallCommand } from '../../../src/call/events.js';
import { DEFAULT_TUNING } from '../../../src/call/session-tuning.js';
import { liveSession } from '../../support/call-builders.js';

const LEAD_MS = DEFAULT_TUNING.sessionRenewLeadMs;

function renewDelay(cmds: CallCommand[]): number | null {
  const set = cmds.find((c) => c.type === 'timer.set' && c.name === 'sessionRenew');
  return set?.type === 'timer.set' ? set.delayMs : null;
}

describe('session renewal timing from expires_at', () => {
  const created = (expiresAtMs: number | null) => ({
    type: 'model.sessionCreated' as const,
    sessionId: 's1',
    model: 'gpt-realtime',
    expiresAtMs,
  });

  it('an hour-long session is renewed the lead before its end', () => {
    const h = liveSession();
    expect(renewDelay(h.feed(created(h.clock.now() + 3_600_000)))).toBe(3_600_000 - LEAD_MS);
  });

  it.each([
    ['0 (epoch)', () => 0],
    ['in the past', (now: number) => now - 10_000],
    ['right now', (now: number) => now],
  ])("an expiry %s sets no renewal (the provider's session_expired and close still reconnect)", (_name, at) => {
    const h = liveSession();
    expect(renewDelay(h.feed(created(at(h.clock.now()))))).toBeNull();
  });

  it('a session shorter than the lead is renewed half-way through, not after 1 s, again and again', () => {
    const h = liveSession();
    expect(renewDelay(h.feed(created(h.clock.now() + 90_000)))).toBe(45_000);
    h.clock.advance(45_000);
    // the renewed session reports the same length: the same half-way renewal, no 1 s loop
    expect(renewDelay(h.feed(created(h.clock.now() + 90_000)))).toBe(45_000);
  });

  it('no expiry, no renewal timer', () => {
    const h = liveSession();
    expect(renewDelay(h.feed(created(null)))).toBeNull();
  });
});
