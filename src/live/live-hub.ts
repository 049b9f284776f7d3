/**
 * What happens on the live calls of this instance, as events for `GET /api/live` (SPEC §12):
 * `call.started`, `turn`, `barge_in`, `tool`, `call.ended`. A subscriber that joins late is
 * first told about every call still running and its turns so far, so the console's Live page
 * is complete from its first paint. It observes and never influences: a subscriber that
 * throws is dropped, and no call waits for one.
 */

export type LiveEvent =
  | {
      type: 'call.started';
      callSid: string;
      from: string;
      to: string;
      profile: string;
      direction: 'inbound' | 'outbound';
      startedAt: string;
    }
  | { type: 'turn'; callSid: string; role: 'caller' | 'assistant'; text: string; truncated: boolean; at: string }
  | { type: 'barge_in'; callSid: string; at: string }
  | { type: 'tool'; callSid: string; name: string; ok: boolean; ms: number; at: string }
  | { type: 'call.ended'; callSid: string; outcome: string; at: string };

export type LiveListener = (event: LiveEvent) => void;

/** Turns kept per live call for late subscribers (a long call's oldest are dropped). */
const MAX_TURNS_KEPT = 200;

interface LiveCallState {
  started: Extract<LiveEvent, { type: 'call.started' }>;
  turns: Extract<LiveEvent, { type: 'turn' }>[];
}

export class LiveHub {
  private readonly listeners = new Set<LiveListener>();
  private readonly calls = new Map<string, LiveCallState>();

  /** Publishes an event to every subscriber. */
  publish(event: LiveEvent): void {
    if (event.type === 'call.started') this.calls.set(event.callSid, { started: event, turns: [] });
    else if (event.type === 'turn') {
      const turns = this.calls.get(event.callSid)?.turns;
      if (turns !== undefined) {
        turns.push(event);
        if (turns.length > MAX_TURNS_KEPT) turns.shift();
      }
    } else if (event.type === 'call.ended') this.calls.delete(event.callSid);
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        this.listeners.delete(listener);
      }
    }
  }

  /** Subscribes; the live calls and their turns so far are replayed first. Returns the unsubscribe. */
  subscribe(listener: LiveListener): () => void {
    for (const { started, turns } of this.calls.values()) {
      listener(started);
      for (const turn of turns) listener(turn);
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** CallSids of the calls running now. */
  active(): string[] {
    return [...this.calls.keys()];
  }
}

/** The facts of one call that the hub publishes (fed by the app from the call's record writes). */
export interface LiveCallFeed {
  turn(role: 'caller' | 'assistant', text: string, truncated: boolean, atMs: number): void;
  bargeIn(atMs: number): void;
  tool(name: string, ok: boolean, ms: number, atMs: number): void;
  ended(outcome: string, atMs: number): void;
}

/** A feed that publishes one call's facts to `hub`. */
export function liveCallFeed(hub: Pick<LiveHub, 'publish'>, callSid: string): LiveCallFeed {
  const at = (ms: number) => new Date(ms).toISOString();
  return {
    turn: (role, text, truncated, atMs) => hub.publish({ type: 'turn', callSid, role, text, truncated, at: at(atMs) }),
    bargeIn: (atMs) => hub.publish({ type: 'barge_in', callSid, at: at(atMs) }),
    tool: (name, ok, ms, atMs) => hub.publish({ type: 'tool', callSid, name, ok, ms, at: at(atMs) }),
    ended: (outcome, atMs) => hub.publish({ type: 'call.ended', callSid, outcome, at: at(atMs) }),
  };
}
