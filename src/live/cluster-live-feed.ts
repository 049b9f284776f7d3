/**
 * `/api/live` on every instance shows every instance's calls (SPEC §14): this instance's live
 * events go to its own hub and, over the cluster channel, to the other instances' hubs. Events
 * from the channel are checked for their shape (anything else is dropped) and published to the
 * local hub only, so nothing echoes. A turn's text is cut to fit a NOTIFY payload.
 */
import type { ClusterBus } from '../store/pg-notify.js';
import type { LiveEvent, LiveHub } from './live-hub.js';

const TOPIC = 'live';
/** NOTIFY payloads stay under 8000 bytes; a turn's text beyond this is cut for the other instances */
const MAX_SHARED_TEXT_CHARS = 2_000;
const TYPES = new Set(['call.started', 'turn', 'barge_in', 'tool', 'call.ended']);

/** Wires `hub` to the other instances; returns what this instance publishes its own events with. */
export function shareLiveFeed(hub: LiveHub, bus: ClusterBus, instanceId: string): Pick<LiveHub, 'publish'> {
  bus.subscribe(TOPIC, (body, from) => {
    if (from === instanceId || typeof body['callSid'] !== 'string' || !TYPES.has(String(body['type']))) return;
    hub.publish(body as unknown as LiveEvent);
  });
  return {
    publish(event: LiveEvent): void {
      hub.publish(event);
      const shared = event.type === 'turn' ? { ...event, text: event.text.slice(0, MAX_SHARED_TEXT_CHARS) } : event;
      // the feed is best effort: a lost NOTIFY costs another instance's viewer one line
      bus.publish(TOPIC, { ...shared }).catch(() => undefined);
    },
  };
}
