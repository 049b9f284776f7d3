/**
 * A tiny tool backend for the bridge (README "Give the assistant tools"): one tool endpoint
 * and one context endpoint, each checking `x-bridge-signature` the way the README's receiver
 * does. Run it beside the bridge:
 *
 *   BRIDGE_SIGNING_SECRET=change-me-to-16-chars-or-more npx tsx examples/backend/server.ts
 *
 * and call the number `numbers.example.yaml` wires to it (`+15551230002`). A new endpoint is
 * one more `app.post(…)` with `signed` in front.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';

import express, { type NextFunction, type Request, type Response } from 'express';

/** Refuses a request whose signature is missing, wrong or more than 300 s old; leaves the raw body in `req.body`. */
function signedBy(secret: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(req.get('x-bridge-signature') ?? '');
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const mac = m && createHmac('sha256', secret).update(`${m[1]}.`).update(body).digest();
    const fresh = m !== null && Math.abs(Date.now() / 1000 - Number(m[1])) <= 300;
    if (!fresh || !mac || !timingSafeEqual(mac, Buffer.from(m[2]!, 'hex'))) {
      res.status(401).json({ error: 'bad signature' });
      return;
    }
    next();
  };
}

/** Made-up appointments, by date of birth. */
const APPOINTMENTS: Record<string, string> = { '1980-01-02': '2026-12-09 at 10:30 with Dr. Rivera' };

export function exampleBackend(secret: string): express.Express {
  const app = express();
  const signed = [express.raw({ type: '*/*', limit: '64kb' }), signedBy(secret)];

  // a tool: the model's arguments in, any JSON out (the model reads it)
  app.post('/tools/lookup_appointment', ...signed, (req, res) => {
    const { arguments: args } = JSON.parse(String(req.body)) as { arguments: { date_of_birth?: string } };
    const slot = APPOINTMENTS[args.date_of_birth ?? ''];
    res.json(slot ? { found: true, appointment: slot } : { found: false });
  });

  // per-call context: who is calling, before the assistant says a word
  app.post('/context', ...signed, (req, res) => {
    const { call } = JSON.parse(String(req.body)) as { call: { from: string } };
    const known = call.from.endsWith('4321');
    res.json({
      variables: { first_name: known ? 'Ada' : '' },
      instructions: known ? 'The caller is {{first_name}}, a patient since 2019.' : 'The caller is new to us.',
      ...(known ? { greeting: 'Hi {{first_name}}, thanks for calling Example Dental!' } : {}),
    });
  });
  return app;
}

/** Listens on `port` (0: any free one). */
export function startExampleBackend(secret: string, port: number): Promise<Server> {
  return new Promise((resolve) => {
    const server = exampleBackend(secret).listen(port, '127.0.0.1', () => resolve(server));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const secret = process.env['BRIDGE_SIGNING_SECRET'];
  if (secret === undefined || secret.length < 16) {
    process.stderr.write('Set BRIDGE_SIGNING_SECRET (at least 16 characters), the same value the bridge has.\n');
    process.exit(1);
  }
  const port = Number(process.env['PORT'] ?? 8081);
  void startExampleBackend(secret, port).then(() =>
    process.stdout.write(`example backend on http://127.0.0.1:${port}\n`),
  );
}
