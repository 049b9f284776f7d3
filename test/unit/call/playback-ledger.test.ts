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

describe('PlaybackLedger.interrupt: the truncation rule, in one place', () => {
  it('audio_end_ms = floor(min(sent, played + cushion)); an item with nothing heard is deleted (null)', () => {
    const l = new PlaybackLedger();
    l.sent(A, 400);
    const m = l.placeMark(A);
    l.sent(A, 600);
    l.markEchoed(m); // 400 ms heard
    l.sent(B, 300); // nothing of B heard
    const { cuts, responseIds } = l.interrupt(50.7);
    expect(cuts).toEqual([
      { itemId: 'a', contentIndex: 0, audioEndMs: 450 },
      { itemId: 'b', contentIndex: 0, audioEndMs: null },
    ]);
    expect([...responseIds]).toEqual(['r1']);
  });

  it('never more than was sent, even with a large cushion', () => {
    const l = new PlaybackLedger();
    l.sent(A, 100);
    l.markEchoed(l.placeMark(A));
    expect(l.interrupt(500).cuts).toEqual([{ itemId: 'a', contentIndex: 0, audioEndMs: 100 }]);
  });

  it('starts a new generation (old marks go stale) and forgets the items', () => {
    const l = new PlaybackLedger();
    l.sent(A, 100);
    const m = l.placeMark(A);
    l.interrupt(50);
    expect(l.currentGeneration).toBe(1);
    expect(l.markEchoed(m)).toEqual({ kind: 'stale' });
    expect(l.unplayed()).toEqual([]);
  });

  it('audio the bridge made itself (no model item) is not cut, and fully played items are left alone', () => {
    const l = new PlaybackLedger();
    l.sent(A, 100);
    l.complete(A);
    l.sent({ responseId: 'r1', itemId: 'tones', contentIndex: 0, local: true }, 200);
    l.markEchoed(l.placeMark(A)); // A heard in full
    expect(l.interrupt(50)).toEqual({ cuts: [], responseIds: new Set() });
  });
});
