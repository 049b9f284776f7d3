/**
 * The console's call data and call control (SPEC §12), mounted inside the admin API (its
 * authentication applies):
 *
 * - `GET /calls/:sid/recording.wav` — stereo 8 kHz 16-bit, left the caller, right the
 *   assistant as heard (cut at barge-ins), on the call clock; streamed from the recording's
 *   tracks (`recording/call-audio.ts`); 404 when the call was not recorded.
 * - `GET /calls/:sid/timeline` — speech segments, barge-ins, tool calls, latencies, waveform.
 * - `GET /live` — Server-Sent Events of the live calls (`live/live-hub.ts`).
 * - `POST /calls/:sid/hangup`, `/transfer` (`{"to"}`), `/say` (`{"text"}`) — asked of the call's
 *   session through a {@link CallControl}; 404 when no live call has that CallSid.
 *
 * Control requests must be JSON (`Content-Type: application/json`): a plain HTML form on
 * another site cannot send that without a CORS preflight, which the bridge never grants.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import express, { type Request, type Response, type Router } from 'express';

import type { OperatorEvent } from '../call/events.js';
import { isE164 } from '../config/env.js';
import type { CallControl } from '../live/call-control.js';
import type { LiveHub } from '../live/live-hub.js';
import {
  scanRecording,
  streamCallWav,
  wavByteLength,
  type CallAudioPlan,
  type ScanResult,
} from '../recording/call-audio.js';
import { recordingFileName } from '../recording/recorder.js';
import { buildTimeline, type Timeline } from '../recording/timeline.js';
import type { Redactor } from '../security/redact.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { fail } from './json-errors.js';

export interface CallDataDeps {
  recordingsDir: string;
  hub: LiveHub;
  control: CallControl;
  redactor: Redactor;
  logger: Logger;
  clock: Clock;
  /** a keep-alive comment on every SSE stream this often (proxies close idle streams) */
  keepAliveMs?: number;
}

/** Longest "say" text: a few sentences; the model is told to say it word for word. */
const MAX_SAY_CHARS = 1000;
/** Scanned recordings kept (by file, size and mtime): the Call page asks for timeline and WAV at once. */
const PLAN_CACHE_SIZE = 8;
const KEEP_ALIVE_MS = 15_000;

/** CallSids as Twilio issues them (CA + 32 hex) and the simulator's; anything else is not looked up. */
function validSid(sid: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(sid);
}

export function callDataRoutes(deps: CallDataDeps): Router {
  const router = express.Router();
  const plans = new Map<string, { key: string; plan: CallAudioPlan; timeline: Promise<Timeline> | null }>();
  /** scans under way, by file and version */
  const scans = new Map<string, Promise<ScanResult>>();

  /** The call's scanned recording, or null (answered 404 already). */
  async function planFor(
    req: Request,
    res: Response,
  ): Promise<{ key: string; plan: CallAudioPlan; timeline: Promise<Timeline> | null } | null> {
    const sid = String(req.params['sid']);
    if (!validSid(sid)) {
      fail(res, 404, 'no such call');
      return null;
    }
    const file = path.join(deps.recordingsDir, recordingFileName(sid));
    const info = await stat(file).catch(() => null);
    if (info === null) {
      fail(res, 404, `call ${sid} was not recorded (RECORD_CALLS=1 records calls)`);
      return null;
    }
    const key = `${info.size}:${info.mtimeMs}`;
    const cached = plans.get(file);
    if (cached?.key === key) return cached;
    // the Call page asks for the timeline and the WAV at once: one scan serves both
    const scanKey = `${file}|${key}`;
    let scanning = scans.get(scanKey);
    if (scanning === undefined) {
      scanning = scanRecording(file).finally(() => scans.delete(scanKey));
      scans.set(scanKey, scanning);
    }
    const scan = await scanning;
    if (!scan.ok) {
      fail(res, 404, `the recording of ${sid} cannot be used: ${scan.reason}`);
      return null;
    }
    const stored = plans.get(file);
    if (stored?.key === key) return stored;
    const entry = { key, plan: scan.plan, timeline: null };
    plans.delete(file);
    plans.set(file, entry);
    if (plans.size > PLAN_CACHE_SIZE) plans.delete(plans.keys().next().value!);
    return entry;
  }

  router.get('/calls/:sid/recording.wav', async (req, res) => {
    const entry = await planFor(req, res);
    if (entry === null) return;
    const { plan } = entry;
    const size = wavByteLength(plan);
    res.type('audio/wav');
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Cache-Control', 'no-store');
    let start = 0;
    let end = size - 1;
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range !== null && (range[1] !== '' || range[2] !== '')) {
      // `bytes=a-b`, `bytes=a-` or the last n bytes `bytes=-n`
      if (range[1] === '') start = Math.max(0, size - Number(range[2]));
      else {
        start = Number(range[1]);
        if (range[2] !== '') end = Math.min(size - 1, Number(range[2]));
      }
      if (start > end || start >= size) {
        res.setHeader('Content-Range', `bytes */${size}`);
        fail(res, 416, `the range is outside the ${size} bytes of the recording`);
        return;
      }
      res.status(206).setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
    }
    res.setHeader('Content-Length', String(end - start + 1));
    try {
      await pipeline(Readable.from(streamCallWav(plan, start, end)), res);
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'recording.wav stream ended early');
    }
  });

  router.get('/calls/:sid/timeline', async (req, res) => {
    const entry = await planFor(req, res);
    if (entry === null) return;
    entry.timeline ??= buildTimeline(entry.plan);
    try {
      res.json(await entry.timeline);
    } catch (err) {
      entry.timeline = null;
      throw err;
    }
  });

  router.get('/live', (req, res) => {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(': live calls\n\n');
    const unsubscribe = deps.hub.subscribe((event) => {
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(deps.redactor.deep(event))}\n\n`);
    });
    let keepAlive: TimerHandle;
    const beat = () => {
      res.write(': keep-alive\n\n');
      keepAlive = deps.clock.setTimer(deps.keepAliveMs ?? KEEP_ALIVE_MS, beat);
    };
    keepAlive = deps.clock.setTimer(deps.keepAliveMs ?? KEEP_ALIVE_MS, beat);
    req.on('close', () => {
      unsubscribe();
      deps.clock.clearTimer(keepAlive);
    });
  });

  async function control(req: Request, res: Response, event: OperatorEvent): Promise<void> {
    const sid = String(req.params['sid']);
    const result = validSid(sid) ? await deps.control.request(sid, event) : 'not_live';
    if (result === 'not_live') {
      fail(res, 404, `no live call ${JSON.stringify(sid.slice(0, 64))}; GET /api/live lists them`);
      return;
    }
    deps.logger.info({ callSid: sid, request: event.type }, 'operator request sent to the call');
    res.status(202).json({ callSid: sid, accepted: event.type.replace('operator.', '') });
  }

  /** The JSON body of a control request, or null (answered 415/400 already). */
  function jsonBody(req: Request, res: Response): Record<string, unknown> | null {
    if (!req.is('application/json')) {
      fail(res, 415, 'send JSON with Content-Type: application/json (e.g. {} to hang up)');
      return null;
    }
    const body: unknown = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      fail(res, 400, 'send a JSON object');
      return null;
    }
    return body as Record<string, unknown>;
  }

  router.post('/calls/:sid/hangup', async (req, res) => {
    if (jsonBody(req, res) === null) return;
    await control(req, res, { type: 'operator.hangUp' });
  });

  router.post('/calls/:sid/transfer', async (req, res) => {
    const body = jsonBody(req, res);
    if (body === null) return;
    const to = body['to'];
    if (typeof to !== 'string' || !isE164(to)) {
      fail(res, 400, `to must be an E.164 number such as +15550000000, got ${JSON.stringify(to ?? null)}`);
      return;
    }
    await control(req, res, { type: 'operator.transfer', to });
  });

  router.post('/calls/:sid/say', async (req, res) => {
    const body = jsonBody(req, res);
    if (body === null) return;
    const text = body['text'];
    if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_SAY_CHARS) {
      fail(res, 400, `text must be a non-empty string of at most ${MAX_SAY_CHARS} characters`);
      return;
    }
    await control(req, res, { type: 'operator.say', text: text.trim() });
  });

  return router;
}
