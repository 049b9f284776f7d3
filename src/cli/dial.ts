/**
 * `npm run dial -- --to <E.164> [--from <E.164>] [--profile <key>] [--machine-detection
 * off|hangup|voicemail] [--voicemail-message …] [--key <Idempotency-Key>] [--bridge URL]`:
 * places one outbound call through a running bridge (`POST /api/calls`, SPEC §13) and follows
 * it on the call record until it is over: each Twilio status (ringing, answered), who
 * answered (AMD), the transcript as it grows, and the outcome. `ADMIN_TOKEN` from the
 * environment is sent as the bearer token.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { SystemClock } from '../util/clock.js';

const USAGE = `usage: npm run dial -- --to <E.164> [options]
  --from               our number (a number of numbers.yaml)   default +15551230001
  --profile            the profile to use (number key)         default: the from number's
  --machine-detection  off | hangup | voicemail                default: the profile's outbound setting
  --voicemail-message  what to say after a machine's beep
  --key                Idempotency-Key: the same key never dials twice
  --bridge             the bridge's base URL                   default http://127.0.0.1:3000
  --timeout            give up following after this many s     default 120
ADMIN_TOKEN (environment) is sent as the bearer token.`;

/** How often the record is read while the call runs. */
const POLL_MS = 500;

interface StatusEvent {
  kind: string;
  status: string;
  detail: string | null;
}
interface Turn {
  role: string;
  text: string;
}
interface CallView {
  outcome: string;
  statusEvents: StatusEvent[];
  turns: Turn[];
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        to: { type: 'string' },
        from: { type: 'string' },
        profile: { type: 'string' },
        'machine-detection': { type: 'string' },
        'voicemail-message': { type: 'string' },
        key: { type: 'string' },
        bridge: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) return (void process.stdout.write(`${USAGE}\n`), 0);
  if (values.to === undefined) {
    process.stderr.write(`--to is required\n${USAGE}\n`);
    return 2;
  }
  const bridge = (values.bridge ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  const token = process.env['ADMIN_TOKEN'];
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (values.key !== undefined) headers['idempotency-key'] = values.key;
  const body = {
    to: values.to,
    from: values.from ?? '+15551230001',
    ...(values.profile !== undefined ? { profile: values.profile } : {}),
    ...(values['machine-detection'] !== undefined ? { machine_detection: values['machine-detection'] } : {}),
    ...(values['voicemail-message'] !== undefined ? { voicemail_message: values['voicemail-message'] } : {}),
  };
  const res = await fetch(`${bridge}/api/calls`, { method: 'POST', headers, body: JSON.stringify(body) });
  const answer = (await res.json()) as { callSid?: string; error?: string };
  if (res.status !== 201 || answer.callSid === undefined) {
    process.stderr.write(`the bridge refused the call: HTTP ${res.status} ${answer.error ?? ''}\n`);
    return 1;
  }
  const { callSid } = answer;
  process.stdout.write(`placed ${callSid}\n`);
  const clock = new SystemClock();
  const deadline = clock.now() + Number(values.timeout ?? 120) * 1000;
  let statuses = 0;
  let turns = 0;
  while (clock.now() < deadline) {
    // a referenced timer: the clock's are unref'd, and this wait is all that keeps the CLI alive
    await delay(POLL_MS);
    const read = await fetch(`${bridge}/api/calls/${callSid}`, { headers });
    if (read.status !== 200) continue;
    const call = (await read.json()) as CallView;
    for (const e of call.statusEvents.slice(statuses)) {
      if (e.status === 'amd') process.stdout.write(`answered by: ${e.detail ?? '?'}\n`);
      else if (e.kind === 'call') process.stdout.write(`status: ${e.status}\n`);
    }
    statuses = call.statusEvents.length;
    for (const t of call.turns.slice(turns)) process.stdout.write(`  ${t.role}: ${t.text}\n`);
    turns = call.turns.length;
    if (call.outcome !== 'in_progress') {
      process.stdout.write(`outcome: ${call.outcome}\n`);
      return 0;
    }
  }
  process.stderr.write('still running at --timeout; follow it with GET /api/calls/<sid>\n');
  return 1;
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
