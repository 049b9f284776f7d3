/**
 * The admin API (SPEC §3) and `/metrics`.
 *
 * Who may call `/api/*` (SPEC §8):
 * - with `ADMIN_TOKEN` set: whoever presents `Authorization: Bearer <ADMIN_TOKEN>`;
 * - without it, when `TWILIO_AUTH_TOKEN` is set (a bridge facing the internet): nobody (401);
 * - without either (local mode): local requests only — a loopback peer that no proxy or tunnel
 *   forwarded (`security/local-request.ts`).
 *
 * `/metrics` asks for `Authorization: Bearer <METRICS_TOKEN>` when that is set. Every answer is
 * JSON; errors say what to fix. Records pass through the shared redactor, so a secret can never
 * leave through the API.
 */
import { timingSafeEqual } from 'node:crypto';

import express, { type Request, type Response, type Router } from 'express';

import { NumbersFileConflict, type NumbersRegistry } from '../config/numbers.js';
import { isE164 } from '../config/env.js';
import { isLocalRequest } from '../security/local-request.js';
import { maskPhone, type Redactor } from '../security/redact.js';
import type { CallStore } from '../store/call-store.js';
import { isValidCursor } from '../store/calls-repo.js';
import { ConfigError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { isSameOriginWrite, type ConsoleSessions } from './console-auth.js';
import { eventRoutes, type EventRouteDeps } from './event-routes.js';
import { fail, fromStore } from './json-errors.js';
import type { BridgeMetrics } from './metrics.js';

export interface AdminDeps {
  adminToken: string | null;
  /** TWILIO_AUTH_TOKEN is set: without ADMIN_TOKEN the API is closed to everyone */
  signedMode: boolean;
  metricsToken: string | null;
  logger: Logger;
  calls: CallStore;
  numbers: NumbersRegistry;
  redactor: Redactor;
  metrics: BridgeMetrics;
  /** `/api/events` (SPEC §10) */
  events: Omit<EventRouteDeps, 'redactor'>;
  /** the console's login sessions (SPEC §12): a valid session cookie counts as the bearer token */
  consoleSessions?: ConsoleSessions | null;
  /** more routes under `/api`, behind the same rule (the console's call data and control) */
  more?: Router[];
}

const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;
/**
 * Largest JSON body: a profile with long instructions fits many times over, and a body this
 * size parses and validates in about a millisecond.
 */
const MAX_BODY = '256kb';
/**
 * Deepest nesting a profile may have (a tool's JSON Schema nests ~6 levels). Checked right after
 * JSON.parse, before anything that costs more than linear time in the depth (YAML serialisation
 * indents every level, zod walks it).
 */
export const MAX_PROFILE_DEPTH = 32;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The bearer token a request presents, or null. */
function bearer(req: Request): string | null {
  const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return match === null ? null : match[1]!.trim();
}

/** Nesting depth of parsed JSON (a scalar is 0), without recursion; stops counting past `limit`. */
export function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > deepest) deepest = depth + 1;
    if (deepest > limit) return deepest;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Parses an ISO date or datetime query value to epoch ms. */
function parseTime(value: unknown): number | null | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

export function adminRoutes(deps: AdminDeps): Router {
  const router = express.Router();

  router.get('/metrics', async (req, res) => {
    if (deps.metricsToken !== null) {
      const given = bearer(req);
      if (given === null || !sameSecret(given, deps.metricsToken)) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        fail(res, 401, 'missing or wrong bearer token; send Authorization: Bearer <METRICS_TOKEN>');
        return;
      }
    }
    res.type(deps.metrics.contentType).send(await deps.metrics.render());
  });

  const api = express.Router();
  api.use((req: Request, res: Response, next) => {
    if (deps.adminToken === null) {
      if (deps.signedMode) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        fail(res, 401, 'the admin API is closed: TWILIO_AUTH_TOKEN is set, so it needs ADMIN_TOKEN');
        return;
      }
      if (!isLocalRequest(req)) {
        fail(
          res,
          403,
          'without ADMIN_TOKEN the admin API answers requests from this machine only, never through a proxy or tunnel',
        );
        return;
      }
      next();
      return;
    }
    const given = bearer(req);
    if (given === null && deps.consoleSessions?.valid(req)) {
      if (isSameOriginWrite(req)) next();
      else fail(res, 403, 'a console write must carry the header X-Bridge-Console: 1');
      return;
    }
    if (given === null || !sameSecret(given, deps.adminToken)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      fail(res, 401, 'missing or wrong bearer token; send Authorization: Bearer <ADMIN_TOKEN>');
      return;
    }
    next();
  });
  api.use(express.json({ limit: MAX_BODY }));

  api.get('/calls', async (req, res) => {
    const { to, cursor, limit, since, until } = req.query;
    const pageSize = limit === undefined ? DEFAULT_PAGE : Number(limit);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE) {
      fail(res, 400, `limit must be an integer from 1 to ${MAX_PAGE}`);
      return;
    }
    if (to !== undefined && (typeof to !== 'string' || !isE164(to))) {
      fail(res, 400, 'to must be an E.164 number such as +15551230001 (URL-encode the + as %2B)');
      return;
    }
    if (cursor !== undefined && (typeof cursor !== 'string' || !isValidCursor(cursor))) {
      fail(res, 400, 'cursor is not one this API issued; pass the `next` value of the previous page');
      return;
    }
    const sinceMs = parseTime(since);
    const untilMs = parseTime(until);
    if (sinceMs === null || untilMs === null) {
      fail(res, 400, 'since and until must be ISO dates such as 2026-11-25 or 2026-11-25T10:00:00Z');
      return;
    }
    const page = await fromStore(res, () =>
      deps.calls.listCalls({
        limit: pageSize,
        cursor: cursor ?? null,
        ...(to !== undefined ? { to } : {}),
        ...(sinceMs !== undefined ? { sinceMs } : {}),
        ...(untilMs !== undefined ? { untilMs } : {}),
      }),
    );
    if (page !== undefined) res.json(deps.redactor.deep(page));
  });

  api.get('/calls/:callSid', async (req, res) => {
    const record = await fromStore(res, () => deps.calls.getCall(req.params.callSid));
    if (record === undefined) return;
    if (record === null) {
      fail(res, 404, `no call ${JSON.stringify(req.params.callSid.slice(0, 64))}; list calls with GET /api/calls`);
      return;
    }
    res.json(deps.redactor.deep(record));
  });

  api.get('/numbers', (_req, res) => {
    const current = deps.numbers.current();
    res.json({
      file: current.file,
      rejectUnknown: current.rejectUnknown,
      defaults: current.defaults,
      numbers: Object.fromEntries(current.byNumber),
      raw: current.raw,
    });
  });

  api.put('/numbers/:number', (req, res) => {
    const number = req.params.number;
    if (!isE164(number)) {
      fail(res, 400, `${JSON.stringify(number)} is not an E.164 number; use e.g. /api/numbers/%2B15551230001`);
      return;
    }
    if (!req.is('application/json')) {
      fail(res, 415, 'send the profile as JSON with Content-Type: application/json, e.g. {"voice":"verse"}');
      return;
    }
    const body: unknown = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      fail(res, 400, 'send the profile as a JSON object, e.g. {"voice":"verse"}');
      return;
    }
    if (jsonDepth(body, MAX_PROFILE_DEPTH) > MAX_PROFILE_DEPTH) {
      fail(res, 400, `the profile is nested more than ${MAX_PROFILE_DEPTH} levels deep`);
      return;
    }
    try {
      const profile = deps.numbers.putNumber(number, body as Record<string, unknown>);
      deps.logger.info(
        { number: maskPhone(number), fields: Object.keys(body) },
        'profile changed through the admin API',
      );
      res.json({ number, profile });
    } catch (err) {
      if (err instanceof ConfigError) {
        fail(res, 400, err.message);
        return;
      }
      if (err instanceof NumbersFileConflict) {
        fail(res, 409, err.message);
        return;
      }
      throw err;
    }
  });

  api.use(eventRoutes({ ...deps.events, redactor: deps.redactor }));
  for (const routes of deps.more ?? []) api.use(routes);

  api.use((_req, res) => fail(res, 404, 'no such admin route; see README "HTTP surface"'));

  router.use('/api', api);
  return router;
}
