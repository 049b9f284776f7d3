/**
 * A long call keeps a bounded amount of conversation: the history restored after a reconnect
 * holds the last 40 turns (all a reconnect ever sends), and assistant items that are settled
 * are forgotten beyond the most recent 64.
 */
import { describe, expect, it } from 'vitest';

import type { AssistantTurns } from '../../../src/call/assistant-turns.js';
import type { CallEvent } from '../../../src/call/events.js';
import { liveSession, responseCreated, responseDone, wire } from '../../support/call-builders.js';

function exchange(i: number): CallEvent[] {
  return [
    { type: 'model.inputTranscriptDone', itemId: `u${i}`, contentIndex: 0, transcript: `question ${i}` },
    responseCreated(`r${i}`),
    { type: 'model.transcriptDelta', responseId: `r${i}`, itemId: `a${i}`, contentIndex: 0, delta: `answer ${i}` },
    { type: 'model.transcriptDone', responseId: `r${i}`, itemId: `a${i}`, contentIndex: 0, transcript: `answer ${i}` },
    responseDone(`r${i}`),
  ];
}

describe('a long call', () => {
  it('restores the last 40 turns after a reconnect, in order, however long the call was', () => {
    const h = liveSession();
    for (let i = 0; i < 150; i++) h.feedAll(exchange(i));
    h.feed({ type: 'model.closed', code: 1006, reason: '', willRetry: true, retryInMs: 250 });
    const restored = wire(h.feed({ type: 'model.open', reconnect: true })).filter((c) => c.type === 'model.createItem');
    expect(restored).toHaveLength(40);
    expect(restored[0]).toEqual({
      type: 'model.createItem',
      item: { kind: 'message', role: 'user', text: 'question 130' },
    });
    expect(restored[39]).toEqual({
      type: 'model.createItem',
      item: { kind: 'message', role: 'assistant', text: 'answer 149' },
    });
  });

  it('keeps bounded state per call: 40 history turns, at most 64 tracked assistant items', () => {
    const h = liveSession();
    for (let i = 0; i < 500; i++) h.feedAll(exchange(i));
    // the session keeps its conversation in its AssistantTurns (call/assistant-turns.ts)
    const { turns } = h.session as unknown as { turns: AssistantTurns };
    expect(turns.historyLength).toBe(40);
    expect(turns.trackedItems).toBeLessThanOrEqual(64);
  });

  it('a transcript that arrives after its item was settled is still recorded once', () => {
    const h = liveSession();
    h.feedAll(exchange(0));
    const again = h.feed({
      type: 'model.transcriptDone',
      responseId: 'r0',
      itemId: 'a0',
      contentIndex: 0,
      transcript: 'answer 0',
    });
    expect(again.filter((c) => c.type === 'record.turn')).toEqual([]);
  });
});
