/**
 * A call-events receiver (SPEC §10), standalone: `BRIDGE_SIGNING_SECRET=… npx tsx examples/backend/events.ts`,
 * then start the bridge with `EVENTS_URL=http://127.0.0.1:8090/events` and the same secret.
 *
 * It checks `x-bridge-signature` on the raw body (HMAC-SHA256 of "<t>.<body>", `t` within 300 s),
 * answers 2xx to every genuine event — a duplicate too, or the bridge would keep retrying it —
 * and acts on each `id` once: delivery is at-least-once, so the same event can arrive again
 * (same `id`, same body) after a timeout or a bridge restart. A real backend keeps the ids it
 * has seen in its database, in the same transaction as what it does with the event.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const secret = process.env['BRIDGE_SIGNING_SECRET'] ?? '';
const port = Number(process.env['PORT'] ?? 8090);
const seen = new Set<string>();

interface CallEvent {
  id: string;
  type: 'call.started' | 'call.ended' | 'call.analyzed';
  createdAt: string;
  callSid: string;
  data: Record<string, unknown>;
}

function signed(header: string | undefined, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (m === null || Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false;
  const mac = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(mac, Buffer.from(m[2]!, 'hex'));
}

createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
  req.on('end', () => {
    if (req.method !== 'POST' || !signed(req.headers['x-bridge-signature'] as string | undefined, body)) {
      res.writeHead(401).end();
      return;
    }
    const event = JSON.parse(body) as CallEvent;
    if (!seen.has(event.id)) {
      seen.add(event.id);
      const what =
        event.type === 'call.ended'
          ? `ended: ${String(event.data['outcome'])}`
          : event.type === 'call.analyzed'
            ? `analysed: ${JSON.stringify(event.data)}`
            : `started from ${String(event.data['from'])}`;
      process.stdout.write(`${event.callSid} ${what}\n`);
    }
    res.writeHead(204).end();
  });
}).listen(port, '127.0.0.1', () => process.stdout.write(`call events receiver on http://127.0.0.1:${port}/events\n`));
