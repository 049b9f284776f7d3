import { describe, expect, it } from 'vitest';

import { AssistantTurns, MAX_HISTORY_TURNS, MAX_TRACKED_ASSISTANT_ITEMS } from '../../../src/call/assistant-turns.js';

describe('AssistantTurns: the conversation as the caller heard it', () => {
  it('an answer is stored in full once its transcript is known and its audio has played out', () => {
    const t = new AssistantTurns();
    t.audioReceived('i1', 1000);
    expect(t.transcriptDone('i1', 'We open at nine.')).toBeNull(); // still playing
    expect(t.playedOut('i1')).toEqual({ text: 'We open at nine.', truncated: false });
    expect(t.playedOut('i1')).toBeNull(); // once
  });

  it('an item without audio is heard as soon as its transcript is done', () => {
    const t = new AssistantTurns();
    expect(t.transcriptDone('i1', 'Text only.')).toEqual({ text: 'Text only.', truncated: false });
  });

  it('a cut answer keeps the words in proportion to the audio heard, at a word boundary', () => {
    const t = new AssistantTurns();
    t.textDelta('i1', 'one two three four five six seven eight nine ten');
    t.audioReceived('i1', 1000);
    expect(t.settle('i1', 450)).toEqual({ text: 'one two three four …', truncated: true });
    // a late transcript after the cut stores nothing more
    expect(t.transcriptDone('i1', 'one two three four five six seven eight nine ten')).toBeNull();
  });

  it('nothing heard stores nothing', () => {
    const t = new AssistantTurns();
    t.textDelta('i1', 'Hello there');
    t.audioReceived('i1', 500);
    expect(t.settle('i1', 0)).toBeNull();
  });

  it('settleAll stores what was heard of each turn still playing (in full when no longer tracked)', () => {
    const t = new AssistantTurns();
    t.audioReceived('a', 1000);
    t.transcriptDone('a', 'alpha beta gamma delta');
    t.audioReceived('b', 1000);
    t.transcriptDone('b', 'one two');
    expect(t.settleAll((id) => (id === 'a' ? 500 : null))).toEqual([
      { text: 'alpha beta …', truncated: true },
      { text: 'one two', truncated: false },
    ]);
  });

  it('restore gives the heard turns, then what is still playing, at most the last 40', () => {
    const t = new AssistantTurns();
    for (let i = 0; i < 60; i++) t.callerSaid(`question ${i}`);
    t.audioReceived('a', 800);
    t.textDelta('a', 'still talking');
    const restored = t.restore();
    expect(restored).toHaveLength(MAX_HISTORY_TURNS);
    expect(restored.at(-1)).toEqual({ role: 'assistant', text: 'still talking' });
    expect(restored[0]).toEqual({ role: 'user', text: 'question 21' });
    expect(t.historyLength).toBe(MAX_HISTORY_TURNS);
  });

  it('caller transcripts are trimmed; empty ones are not kept', () => {
    const t = new AssistantTurns();
    expect(t.callerSaid('  hi  ')).toEqual({ text: 'hi', truncated: false });
    expect(t.callerSaid('   ')).toBeNull();
    expect(t.restore()).toEqual([{ role: 'user', text: 'hi' }]);
  });

  it(`tracks at most ${MAX_TRACKED_ASSISTANT_ITEMS} settled items, however long the call`, () => {
    const t = new AssistantTurns();
    for (let i = 0; i < 500; i++) t.transcriptDone(`a${i}`, `answer ${i}`);
    expect(t.trackedItems).toBeLessThanOrEqual(MAX_TRACKED_ASSISTANT_ITEMS);
  });
});
