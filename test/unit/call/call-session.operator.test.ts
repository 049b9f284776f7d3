/**
 * Operator requests (SPEC §12): the console only asks; the session decides what each does,
 * given where the call is.
 */
import { describe, expect, it } from 'vitest';

import type { CallCommand } from '../../../src/call/events.js';
import { liveSession, responseCreated, responseDone, wire } from '../../support/call-builders.js';

const creates = (cmds: CallCommand[]) => wire(cmds).filter((c) => c.type === 'model.createResponse');

describe('operator requests', () => {
  it('say: spoken at once when the model is quiet, word for word', () => {
    const h = liveSession();
    const out = creates(h.feed({ type: 'operator.say', text: 'Your table is booked.' }));
    expect(out).toHaveLength(1);
    expect((out[0] as { instructions: string }).instructions).toContain('"Your table is booked."');
  });

  it('say: waits for the response in progress, then goes next', () => {
    const h = liveSession();
    h.feed(responseCreated('resp_1'));
    expect(creates(h.feed({ type: 'operator.say', text: 'One moment.' }))).toEqual([]);
    const after = creates(h.feed(responseDone('resp_1')));
    expect(after).toHaveLength(1);
    expect((after[0] as { instructions: string }).instructions).toContain('"One moment."');
  });

  it('hang up: ends the call now, outcome completed, and closes the stream', () => {
    const h = liveSession();
    const out = h.feed({ type: 'operator.hangUp' });
    expect(out).toContainEqual(
      expect.objectContaining({ type: 'record.end', outcome: 'completed', detail: 'operator hung up' }),
    );
    expect(out).toContainEqual(expect.objectContaining({ type: 'twilio.close' }));
    expect(h.session.outcome).toBe('completed');
  });

  it('transfer: through Twilio REST once nothing is playing; refused without REST credentials', () => {
    const h = liveSession({ canUseRest: true });
    expect(h.feed({ type: 'operator.transfer', to: '+15550000000' })).toContainEqual({
      type: 'rest.transfer',
      to: '+15550000000',
    });
    const noRest = liveSession({ canUseRest: false });
    const out = noRest.feed({ type: 'operator.transfer', to: '+15550000000' });
    expect(out.some((c) => c.type === 'rest.transfer' || c.type === 'record.end')).toBe(false);
    expect(noRest.session.phaseName).toBe('live');
  });
});
