/**
 * `POST /api/calls` (SPEC §13): places an outbound call. Mounted behind the admin API's gate
 * (`admin-routes.ts`), so it takes the same bearer token or local-only rule.
 *
 * - body `{to, from, profile?, variables?, machine_detection?, voicemail_message?}` → `201
 *   {"callSid": "CA…", "status": "queued"}`; a bad field → 400 naming it;
 * - `Idempotency-Key` (1–255 characters): the same key answers with the same call, never a
 *   second dial, across restarts too;
 * - `to` outside OUTBOUND_ALLOW → 403; OUTBOUND_MAX_CONCURRENT reached → 429 with `Retry-After`;
 *   Twilio refused → 502 with Twilio's reason; no Twilio credentials → 503.
 */
import express, { type Router } from 'express';

import { parseDialRequest } from '../outbound/dial-policy.js';
import type { OutboundCalls } from '../outbound/outbound-calls.js';
import { publicBaseUrl, type SignatureSettings } from '../security/twilio-signature.js';
import { MAX_IDEMPOTENCY_KEY_CHARS } from '../store/outbound-repo.js';
import { fail, fromStore } from './json-errors.js';

export interface OutboundRouteDeps {
  outbound: OutboundCalls;
  signature: SignatureSettings;
}

export function outboundRoutes(deps: OutboundRouteDeps): Router {
  const router = express.Router();
  router.post('/calls', async (req, res) => {
    const key = req.get('idempotency-key') ?? null;
    if (key !== null && (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_CHARS)) {
      fail(res, 400, `Idempotency-Key: must be 1 to ${MAX_IDEMPOTENCY_KEY_CHARS} characters`);
      return;
    }
    const request = parseDialRequest(req.body);
    if (!request.ok) {
      fail(res, 400, request.error);
      return;
    }
    const base = publicBaseUrl(req, deps.signature);
    const result = await fromStore(res, () => deps.outbound.place(request.value, key, base));
    if (result === undefined) return;
    if (!result.ok) {
      if (result.retryAfterS !== undefined) res.setHeader('Retry-After', String(result.retryAfterS));
      fail(res, result.status, result.error);
      return;
    }
    // a repeated key answers exactly as the first request did (SPEC §13: the same call)
    res.status(201).json({ callSid: result.callSid, status: result.repeated ? 'queued' : result.status });
  });
  return router;
}
