import { describe, expect, it } from 'vitest';

import { PlaybackLedger } from '../../../src/call/playback-ledger.js';

const A = { responseId: 'r1', itemId: 'a', contentIndex: 0 };
const B = { responseId: 'r1', itemId: 'b', contentIndex: 0 };

describe('PlaybackLedger', () => {
  it('played moves only with echoed marks, up to the mark position', () => {
    const l = new PlaybackLedger();
    l.sent(A, 100);
    const m1 = l.placeMark(A);
    l.sent(A, 100);
    const m2 = l.placeMark(A);
    expect(l.item(A)).toMatchObject({ sentMs: 200, playedMs: 0 });
    expect(l.markEchoed(m1)).toMatchObject({ kind: 'played' });
    expect(l.item(A).playedMs).toBe(100);
    expect(l.markEchoed(m2)).toMatchObject({ kind: 'played' });
    expect(l.item(A).playedMs).toBe(200);
  });

  it('an echo for a later item means earlier items played in full (Twilio plays in order)', () => {
    const l = new PlaybackLedger();
    l.sent(A, 300);
    l.complete(A);
    l.sent(B, 100);
    const mb = l.placeMark(B);
    l.markEchoed(mb);
    expect(l.item(A).playedMs).toBe(300);
    expect(l.item(B).playedMs).toBe(100);
  });

  it('marks of a cleared generation move nothing; unknown marks are reported', () => {
    const l = new PlaybackLedger();
    l.sent(A, 100);
    const old = l.placeMark(A);
    l.clear();
    expect(l.currentGeneration).toBe(1);
    expect(l.markEchoed(old)).toEqual({ kind: 'stale' });
    expect(l.unplayed()).toEqual([]);
    expect(l.markEchoed('g9:m9:0')).toEqual({ kind: 'unknown' });
    // the same name echoed twice is unknown the second time
    l.sent(A, 40);
    const fresh = l.placeMark(A);
    expect(l.markEchoed(fresh).kind).toBe('played');
    expect(l.markEchoed(fresh).kind).toBe('unknown');
  });

  it('busy and unplayed: incomplete or not fully heard items', () => {
    const l = new PlaybackLedger();
    expect(l.busy).toBe(false);
    l.sent(A, 60);
    expect(l.busy).toBe(true);
    const m = l.placeMark(A);
    l.markEchoed(m);
    expect(l.busy).toBe(true); // the model may still add audio
    l.complete(A);
    expect(l.busy).toBe(false);
    expect(l.unplayed()).toEqual([]);
    expect(l.hasUnplayed('r1')).toBe(false);
    l.sent(B, 20);
    expect(l.hasUnplayed('r1')).toBe(true);
    expect(l.pendingMs()).toBe(20);
  });

  it('mark names are unique and carry generation, sequence and position', () => {
    const l = new PlaybackLedger();
    l.sent(A, 60);
    expect(l.placeMark(A)).toBe('g0:m1:60');
    l.clear();
    l.sent(A, 20);
    expect(l.placeMark(A)).toBe('g1:m2:20');
  });
});
