/**
 * `npm run twilio-sim`: the local Twilio for outbound calls (`sim/twilio-sim.ts`). Point the
 * bridge at it with `TWILIO_API_BASE_URL` and the same account SID and auth token, then place
 * calls with `npm run dial`. Who answers depends on the number dialled (`--callee`, or the
 * last digit of `to`: 1 person, 2 machine, 3 no answer, 4 busy, 5 failed, else a person).
 *
 *   npm run twilio-sim -- [--port 9000] [--account-sid AC…] [--auth-token …] [--callee person]
 *                         [--person-wav hello.wav]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { personFromRecording } from '../sim/callee-audio.js';
import { CALLEE_KINDS, TwilioSim, type CalleeKind } from '../sim/twilio-sim.js';
import { readCallerWav } from '../sim/wav-input.js';
import { SystemClock } from '../util/clock.js';

/** The simulator's default credentials: the same values go into the bridge's environment. */
const DEFAULT_ACCOUNT_SID = `AC${'0'.repeat(32)}`;
const DEFAULT_AUTH_TOKEN = 'twilio-sim-auth-token';

const USAGE = `usage: npm run twilio-sim -- [options]
  --port         TCP port                                        default 9000
  --account-sid  the Account SID the bridge sends                default ${DEFAULT_ACCOUNT_SID}
  --auth-token   the auth token (Basic auth and signatures)      default ${DEFAULT_AUTH_TOKEN}
  --callee       who answers every call: ${CALLEE_KINDS.join(', ')}
                 default: by the last digit of To (1 person, 2 machine, 3 no-answer, 4 busy, 5 failed)
  --person-wav   a WAV the person speaks from the answer on (μ-law, A-law or PCM16)
The bridge needs: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN (as above), ADMIN_TOKEN,
TWILIO_API_BASE_URL=http://127.0.0.1:<port>`;

const BY_LAST_DIGIT: Readonly<Record<string, CalleeKind>> = {
  '1': 'person',
  '2': 'machine',
  '3': 'no-answer',
  '4': 'busy',
  '5': 'failed',
};

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        'account-sid': { type: 'string' },
        'auth-token': { type: 'string' },
        callee: { type: 'string' },
        'person-wav': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (values.help === true) return void process.stdout.write(`${USAGE}\n`);
  const callee = values.callee as CalleeKind | undefined;
  if (callee !== undefined && !CALLEE_KINDS.includes(callee)) {
    process.stderr.write(`--callee must be one of ${CALLEE_KINDS.join(', ')}, got ${JSON.stringify(callee)}\n`);
    process.exitCode = 2;
    return;
  }
  let personAudio;
  if (values['person-wav'] !== undefined) {
    const wav = readCallerWav(readFileSync(values['person-wav']));
    if (!wav.ok) {
      process.stderr.write(`--person-wav ${values['person-wav']}: ${wav.reason}\n`);
      process.exitCode = 2;
      return;
    }
    personAudio = personFromRecording(wav.value.mulaw8k);
  }
  const port = Number(values.port ?? 9000);
  const clock = new SystemClock();
  const sim = await TwilioSim.start({
    accountSid: values['account-sid'] ?? DEFAULT_ACCOUNT_SID,
    authToken: values['auth-token'] ?? DEFAULT_AUTH_TOKEN,
    clock,
    port,
    calleeFor: (to) => callee ?? BY_LAST_DIGIT[to.slice(-1)] ?? 'person',
    ...(personAudio !== undefined ? { personAudio } : {}),
    onProgress: (callSid, what) => process.stdout.write(`${new Date(clock.now()).toISOString()} ${callSid} ${what}\n`),
  });
  process.stdout.write(`Twilio simulator listening on ${sim.url} (set TWILIO_API_BASE_URL=${sim.url})\n`);
  const stop = () => void sim.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
