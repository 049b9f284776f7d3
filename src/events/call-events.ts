/**
 * Which of a call's events are stored, and where they go (SPEC §10): the profile's
 * `webhooks` (inherited from `defaults`), else `EVENTS_URL` for all three types, else none.
 * Builds the outbox rows the store writes with the record change that causes them.
 */
import { randomUUID } from 'node:crypto';

import type { Profile } from '../config/numbers.js';
import type { WebhookSettings } from '../config/event-settings.js';
import { EVENT_TYPES, type EventType, type NewEvent } from '../store/events-repo.js';

/** Where a profile's events go; null: nowhere. */
export function webhooksFor(profile: Profile, eventsUrl: string | null): WebhookSettings | null {
  if (profile.webhooks) return profile.webhooks;
  return eventsUrl === null ? null : { url: eventsUrl, events: [...EVENT_TYPES] };
}

/** The events of one call. */
export class CallEvents {
  constructor(
    private readonly callSid: string,
    private readonly webhooks: WebhookSettings | null,
    /** an event was handed to the store (the delivery worker looks soon) */
    private readonly onStored: () => void,
  ) {}

  /** The outbox row for `type`, or undefined when this call's events of that type go nowhere. */
  event(type: EventType, data: Record<string, unknown> | null, atMs: number): NewEvent | undefined {
    if (this.webhooks === null || !this.webhooks.events.includes(type)) return undefined;
    // the worker reads after the write that carries this row has landed
    this.onStored();
    return {
      id: `evt_${randomUUID().replaceAll('-', '')}`,
      type,
      callSid: this.callSid,
      url: this.webhooks.url,
      createdAtMs: atMs,
      data,
    };
  }
}
