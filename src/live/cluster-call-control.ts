/**
 * Call control across instances (SPEC §14): hang up / transfer / say on a call another
 * instance holds. The request goes first to this process's calls; a call not live here is
 * looked up in the shared store (the instance that started it), and the request is sent to
 * that instance over the cluster channel (`LISTEN/NOTIFY`). The owner hands it to the call's
 * session as any local request and answers; no answer within {@link CONTROL_REPLY_MS} counts as
 * `not_live` (the owner died or the call just ended).
 */
import { randomUUID } from 'node:crypto';

import type { OperatorEvent } from '../call/events.js';
import type { ClusterBus } from '../store/pg-notify.js';
import type { Clock } from '../util/clock.js';
import type { CallControl, ControlResult } from './call-control.js';

/** A NOTIFY round trip takes milliseconds; two seconds cover a busy owner. */
export const CONTROL_REPLY_MS = 2_000;

const REQUEST = 'call.control';
const REPLY = 'call.control.reply';

function isOperatorEvent(value: unknown): value is OperatorEvent {
  const v = value as { type?: unknown; to?: unknown; text?: unknown } | null;
  if (v === null || typeof v !== 'object') return false;
  switch (v.type) {
    case 'operator.hangUp':
      return true;
    case 'operator.transfer':
      return typeof v.to === 'string';
    case 'operator.say':
      return typeof v.text === 'string';
    default:
      return false;
  }
}

export interface ClusterControlDeps {
  /** this process's calls */
  local: CallControl;
  bus: ClusterBus;
  instanceId: string;
  /** the instance holding a live call, from the shared store; null when none does */
  ownerOf: (callSid: string) => Promise<string | null>;
  clock: Clock;
}

export class ClusterCallControl implements CallControl {
  private readonly waiting = new Map<string, (result: ControlResult) => void>();

  constructor(private readonly deps: ClusterControlDeps) {
    deps.bus.subscribe(REQUEST, (body, from) => void this.serve(body, from));
    deps.bus.subscribe(REPLY, (body) => {
      const id = typeof body['id'] === 'string' ? body['id'] : '';
      this.waiting.get(id)?.(body['result'] === 'sent' ? 'sent' : 'not_live');
    });
  }

  async request(callSid: string, event: OperatorEvent): Promise<ControlResult> {
    if ((await this.deps.local.request(callSid, event)) === 'sent') return 'sent';
    const owner = await this.deps.ownerOf(callSid);
    if (owner === null || owner === this.deps.instanceId) return 'not_live';
    const id = randomUUID();
    return new Promise<ControlResult>((resolve) => {
      const done = (result: ControlResult) => {
        this.waiting.delete(id);
        this.deps.clock.clearTimer(timer);
        resolve(result);
      };
      const timer = this.deps.clock.setTimer(CONTROL_REPLY_MS, () => done('not_live'));
      this.waiting.set(id, done);
      this.deps.bus.publish(REQUEST, { id, callSid, event }, owner).catch(() => done('not_live'));
    });
  }

  /** Another instance asks for one of this process's calls. */
  private async serve(body: Record<string, unknown>, from: string): Promise<void> {
    const { id, callSid, event } = body;
    if (typeof id !== 'string' || typeof callSid !== 'string' || !isOperatorEvent(event)) return;
    const result = await this.deps.local.request(callSid, event);
    await this.deps.bus.publish(REPLY, { id, result }, from).catch(() => undefined);
  }
}
