/**
 * `npm run call -- [options]`: the simulated phone against a running bridge, as Twilio
 * would call it (SPEC §1): a webhook (signed when `TWILIO_AUTH_TOKEN` is set), the TwiML's
 * media WebSocket with its stream token, the caller's WAV streamed in real time, the
 * assistant's audio played on a real-time playout clock that echoes marks. It prints the
 * transcript as the bridge stores it (polling `GET /api/calls/:callSid`; `ADMIN_TOKEN` from
 * the environment is sent as a bearer token when set) and a latency summary, and saves what
 * the caller heard.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { encodeWav } from '../audio/wav.js';
import { bargeInStops, responseLatencies, speechSegments } from '../sim/call-metrics.js';
import { DTMF_KEY_GAP_MS, parseDtmfSpec } from '../sim/dtmf-spec.js';
import { SimulatedPhone } from '../sim/phone.js';
import { readCallerWav } from '../sim/wav-input.js';
import { SystemClock } from '../util/clock.js';
import { describeError } from '../util/errors.js';

const DEFAULT_TO = '+15551230001';
const DEFAULT_URL = 'http://localhost:3000';
/** After the caller's audio, hang up once the assistant has been quiet this long. */
const DEFAULT_LINGER_MS = 3_000;
/** How often the transcript is polled. */
const POLL_MS = 500;

const USAGE = `usage: npm run call -- [--to <E.164>] [--from <E.164>] [--wav caller.wav] [--out reply.wav]
                     [--url ${DEFAULT_URL}] [--barge-in-at <ms>] [--dtmf 1,2@5000] [--linger <ms>]
  --to           the number called (picks the profile)                default ${DEFAULT_TO}
  --from         the caller's number                                  default +15550001111
  --wav          the caller's audio: any PCM / float / μ-law / A-law WAV, any rate (converted to μ-law 8 kHz)
  --out          save what the caller heard (μ-law 8 kHz WAV, time-aligned with the call)
  --url          the bridge                                           default ${DEFAULT_URL}
  --barge-in-at  start the WAV this many ms into the call (e.g. to talk over the greeting)
  --dtmf         keys and when to press them: 1,2@5000,9@8000 = 1 then 2 at 5 s, 9 at 8 s
  --linger       after the WAV, hang up once the assistant was quiet this long (ms)  default ${DEFAULT_LINGER_MS}
Environment: TWILIO_AUTH_TOKEN signs the webhook like Twilio (PUBLIC_URL is the signed base URL
when set); ADMIN_TOKEN is sent to /api/calls for the transcript.`;

interface CallRecordTurn {
  role: string;
  text: string;
  at: string;
  truncated?: boolean;
}

interface CallRecord {
  outcome?: string;
  endedAt?: string | null;
  bargeIns?: number;
  startedAt?: string;
  latency?: { firstAudioMs: number | null; responseMs: number[] };
  turns?: CallRecordTurn[];
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        to: { type: 'string' },
        from: { type: 'string' },
        wav: { type: 'string' },
        out: { type: 'string' },
        url: { type: 'string' },
        'barge-in-at': { type: 'string' },
        dtmf: { type: 'string' },
        linger: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${describeError(err)}\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const url = (values.url ?? DEFAULT_URL).replace(/\/+$/, '');
  const to = values.to ?? DEFAULT_TO;
  let callerAudio: Buffer | undefined;
  let wavNote = 'no caller audio (silence)';
  let dtmf: { digit: string; atMs: number }[] = [];
  const startAtMs = values['barge-in-at'] === undefined ? 0 : Number(values['barge-in-at']);
  const lingerMs = values.linger === undefined ? DEFAULT_LINGER_MS : Number(values.linger);
  try {
    if (!(startAtMs >= 0) || !(lingerMs >= 0)) throw new Error('--barge-in-at and --linger take a number of ms ≥ 0');
    if (values.dtmf !== undefined) dtmf = parseDtmfSpec(values.dtmf);
    if (values.wav !== undefined) {
      const wav = readCallerWav(readFileSync(values.wav));
      if (!wav.ok) throw new Error(`${values.wav}: ${wav.reason}`);
      callerAudio = wav.value.mulaw8k;
      const converted = wav.value.source.startsWith('μ-law 8-bit 8000 Hz mono') ? '' : ', converted to μ-law 8 kHz';
      wavNote = `${values.wav} (${wav.value.source}, ${seconds(wav.value.durationMs)}${converted})`;
    }
  } catch (err) {
    process.stderr.write(`${describeError(err)}\n`);
    return 2;
  }

  const authToken = process.env['TWILIO_AUTH_TOKEN'] || null;
  const adminToken = process.env['ADMIN_TOKEN'] || null;
  const publicUrl = process.env['PUBLIC_URL'] || null;
  const clock = new SystemClock();
  const phone = new SimulatedPhone({
    bridgeUrl: url,
    to,
    ...(values.from !== undefined ? { from: values.from } : {}),
    authToken,
    ...(publicUrl !== null ? { signatureBaseUrl: publicUrl } : {}),
    ...(callerAudio !== undefined ? { callerAudio, callerAudioAtMs: startAtMs } : {}),
    dtmf,
  });
  const arrivals: number[] = [];
  phone.on('media', () => arrivals.push(phone.nowMs()));
  phone.on('clear', () =>
    process.stdout.write(
      `[${(phone.nowMs() / 1000).toFixed(1).padStart(5)} s] (the bridge cleared the assistant's audio: barge-in)\n`,
    ),
  );

  process.stdout.write(
    `calling ${to} through ${url} ` +
      `(${authToken !== null ? 'signed webhook' : 'unsigned webhook: TWILIO_AUTH_TOKEN not set'})\n`,
  );
  try {
    await phone.dial();
  } catch (err) {
    process.stderr.write(`the call failed: ${describeError(err)}\n`);
    return 1;
  }
  process.stdout.write(
    `connected: call ${phone.callSid}; caller audio: ${wavNote}` +
      `${startAtMs > 0 ? `, from ${seconds(startAtMs)}` : ''}` +
      `${dtmf.length > 0 ? `; keys ${dtmf.map((d) => `${d.digit}@${d.atMs}`).join(' ')}` : ''}\n`,
  );

  // The transcript, as the bridge stores it.
  const headers: Record<string, string> = adminToken !== null ? { authorization: `Bearer ${adminToken}` } : {};
  let printed = 0;
  let record: CallRecord | null = null;
  let pollNote: string | null = null;
  const poll = async (): Promise<void> => {
    try {
      const res = await fetch(`${url}/api/calls/${phone.callSid}`, { headers });
      if (res.status === 401 || res.status === 403) {
        pollNote ??= `the transcript needs the bridge's ADMIN_TOKEN (GET /api/calls answered ${res.status})`;
        return;
      }
      if (!res.ok) return;
      record = (await res.json()) as CallRecord;
      const turns = record.turns ?? [];
      const started = Date.parse(record.startedAt ?? '');
      for (; printed < turns.length; printed++) {
        const turn = turns[printed]!;
        const at = Number.isFinite(started)
          ? `${((Date.parse(turn.at) - started) / 1000).toFixed(1).padStart(5)} s`
          : '    ?';
        process.stdout.write(
          `[${at}] ${turn.role.padEnd(9)} ${turn.text}${turn.truncated === true ? '  (cut off by the caller)' : ''}\n`,
        );
      }
    } catch {
      // the bridge may be busy or gone; the summary says what is known
    }
  };

  // Hang up once the caller's audio is over and the assistant has been quiet for a while,
  // or when the bridge ends the call (hang_up tool, transfer).
  const audioEndMs = Math.max(startAtMs + (callerAudio?.length ?? 0) / 8, (dtmf.at(-1)?.atMs ?? 0) + DTMF_KEY_GAP_MS);
  let lastSound = 0;
  await new Promise<void>((resolve) => {
    let lastPoll = 0;
    const tick = () => {
      const now = phone.nowMs();
      if (phone.queuedMs > 0 || (arrivals.at(-1) ?? -Infinity) > now - 100) lastSound = now;
      if (now - lastPoll >= POLL_MS) {
        lastPoll = now;
        void poll();
      }
      if (!phone.isOpen) return resolve();
      if (now >= audioEndMs && now - Math.max(lastSound, audioEndMs) >= lingerMs) return resolve();
      clock.setTimer(20, tick);
    };
    tick();
  });
  const bridgeEnded = !phone.isOpen;
  const durationMs = phone.nowMs();
  if (!bridgeEnded) await phone.hangUp();
  process.stdout.write(`${bridgeEnded ? 'the bridge ended the call' : 'hung up'} after ${seconds(durationMs)}\n`);
  // The record is final once the bridge has seen the end.
  for (let i = 0; i < 20; i++) {
    await poll();
    if ((record as CallRecord | null)?.endedAt != null) break;
    await new Promise<void>((resolve) => clock.setTimer(150, resolve));
  }
  const note = pollNote as string | null; // set by poll(), which TypeScript's narrowing does not see
  if (note !== null) process.stdout.write(`${note}\n`);

  // Summary.
  const s = phone.stats;
  const lines: string[] = ['summary:'];
  lines.push(
    `  frames sent ${s.framesSent}, received ${s.framesReceived} ` +
      `(${seconds(s.framesReceived * 20)} of assistant audio, ${seconds(s.playedMs)} played), ` +
      `marks echoed ${s.marksEchoed}, clears ${s.clearsReceived}`,
  );
  const callerTurns =
    callerAudio === undefined
      ? []
      : speechSegments(callerAudio).map((seg) => ({ startMs: seg.startMs + startAtMs, endMs: seg.endMs + startAtMs }));
  const latencies = responseLatencies(callerTurns, arrivals);
  lines.push(
    latencies.length === 0
      ? '  caller end of turn → first assistant audio: no caller speech detected'
      : '  caller end of turn → first assistant audio (phone-side, energy detector): ' +
          latencies
            .map(
              (l, i) =>
                `turn ${i + 1} ends ${seconds(l.endOfTurnMs)}: ` +
                (l.latencyMs === null ? 'no answer' : `${Math.round(l.latencyMs)} ms`),
            )
            .join('; '),
  );
  if (s.firstAudioAtMs !== null)
    lines.push(`  first assistant audio heard at ${seconds(s.firstAudioAtMs)} into the call`);
  const stops = bargeInStops(
    callerTurns,
    phone.clears.map((c) => c.atMs),
  );
  lines.push(
    stops.length === 0
      ? '  barge-in stop time: no barge-in'
      : '  barge-in stop time (caller speech onset → assistant audio cleared): ' +
          stops
            .map((b) =>
              b.stopMs === null
                ? `clear at ${seconds(b.clearAtMs)}`
                : `${Math.round(b.stopMs)} ms (speech at ${seconds(b.speechAtMs!)})`,
            )
            .join('; '),
  );
  const final = record as CallRecord | null;
  if (final !== null) {
    const lat = final.latency;
    lines.push(
      `  bridge's figures: outcome ${final.outcome ?? '?'}, barge-ins ${final.bargeIns ?? '?'}, ` +
        `first audio ${lat?.firstAudioMs != null ? `${lat.firstAudioMs} ms after the call started` : 'n/a'}, ` +
        `answers ${lat !== undefined && lat.responseMs.length > 0 ? `${lat.responseMs.join(', ')} ms` : 'n/a'} ` +
        "after the model's end of turn (speech_stopped, i.e. after its silence window)",
    );
  }
  if (values.out !== undefined) {
    const heard = phone.heardAudio();
    writeFileSync(values.out, encodeWav({ encoding: 'mulaw', sampleRateHz: 8000, channels: 1, data: heard }));
    lines.push(`  saved what the caller heard to ${values.out} (${seconds(heard.length / 8)}, μ-law 8 kHz)`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`call failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
