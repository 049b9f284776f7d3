/**
 * `GET /api/events` and `POST /api/events/:id/redeliver` (SPEC §10), mounted inside the admin
 * API (its authentication applies).
 */
import express, { type Router } from 'express';

import type { Redactor } from '../security/redact.js';
import type { EventOutbox } from '../store/call-store.js';
import { EVENT_STATUSES, isValidEventCursor, type EventStatus } from '../store/events-repo.js';

import { fail, fromStore } from './json-errors.js';

export interface EventRouteDeps {
  events: EventOutbox;
  redactor: Redactor;
  now: () => number;
  /** a redelivered event is pending again: the worker looks now */
  onRedeliver: () => void;
}

const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;

export function eventRoutes(deps: EventRouteDeps): Router {
  const router = express.Router();

  router.get('/events', async (req, res) => {
    const { status, callSid, cursor, limit } = req.query;
    const pageSize = limit === undefined ? DEFAULT_PAGE : Number(limit);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE) {
      fail(res, 400, `limit must be an integer from 1 to ${MAX_PAGE}`);
      return;
    }
    if (status !== undefined && !EVENT_STATUSES.includes(status as EventStatus)) {
      fail(res, 400, `status must be one of ${EVENT_STATUSES.join(', ')}`);
      return;
    }
    if (callSid !== undefined && (typeof callSid !== 'string' || callSid.length > 64)) {
      fail(res, 400, 'callSid must be a CallSid such as CA0123…');
      return;
    }
    if (cursor !== undefined && (typeof cursor !== 'string' || !isValidEventCursor(cursor))) {
      fail(res, 400, 'cursor is not one this API issued; pass the `next` value of the previous page');
      return;
    }
    const page = await fromStore(res, () =>
      deps.events.listEvents({
        limit: pageSize,
        cursor: cursor ?? null,
        ...(status !== undefined ? { status: status as EventStatus } : {}),
        ...(callSid !== undefined ? { callSid } : {}),
      }),
    );
    if (page !== undefined) res.json(deps.redactor.deep(page));
  });

  router.post('/events/:id/redeliver', async (req, res) => {
    const id = req.params.id;
    const event = await fromStore(res, () => deps.events.getEvent(id));
    if (event === undefined) return;
    if (event === null) {
      fail(res, 404, `no event ${JSON.stringify(id.slice(0, 64))}; list events with GET /api/events`);
      return;
    }
    deps.events.redeliverEvent(id, deps.now());
    deps.onRedeliver();
    res.status(202).json(deps.redactor.deep({ ...event, status: 'pending' }));
  });

  return router;
}
