/**
 * What `POST /api/calls` may ask for (SPEC §13): the request body, checked field by field, and
 * the toll-fraud rule (`OUTBOUND_ALLOW`: the callee's number must start with an allowed E.164
 * prefix; by default only the country prefix of the `from` number). Pure.
 */
import { z } from 'zod';

import { MACHINE_DETECTION, type MachineDetection } from '../config/numbers.js';

const E164 = /^\+[1-9]\d{1,14}$/;

const DialRequestSchema = z
  .object({
    to: z.string().regex(E164, 'must be an E.164 number such as +15551230001'),
    from: z.string().regex(E164, 'must be an E.164 number such as +15551230001'),
    profile: z.string().min(1).max(64).optional(),
    variables: z.record(z.string().regex(/^[A-Za-z0-9_]{1,64}$/), z.string().max(2_000)).optional(),
    machine_detection: z
      .enum(MACHINE_DETECTION, { message: `must be one of ${MACHINE_DETECTION.join(', ')}` })
      .optional(),
    voicemail_message: z.string().min(1).max(2_000).optional(),
  })
  .strict();

/** A checked dial request. */
export interface DialRequest {
  to: string;
  from: string;
  /** a number key of numbers.yaml (or `defaults`); absent = the `from` number's profile */
  profile: string | null;
  variables: Record<string, string>;
  /** absent = the profile's `outbound.machine_detection` */
  machineDetection: MachineDetection | null;
  voicemailMessage: string | null;
}

export type DialRequestResult = { ok: true; value: DialRequest } | { ok: false; error: string };

/** Checks a `POST /api/calls` body; the error names the field and says what it must be. */
export function parseDialRequest(body: unknown): DialRequestResult {
  const parsed = DialRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || 'body';
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message;
    return { ok: false, error: `${field}: ${message}` };
  }
  const v = parsed.data;
  return {
    ok: true,
    value: {
      to: v.to,
      from: v.from,
      profile: v.profile ?? null,
      variables: v.variables ?? {},
      machineDetection: v.machine_detection ?? null,
      voicemailMessage: v.voicemail_message ?? null,
    },
  };
}

/**
 * ITU-T E.164 country codes of one and two digits; every other code has three
 * (https://www.itu.int/pub/T-SP-E.164D). `1` is the North American Numbering Plan, `7` Russia
 * and Kazakhstan.
 */
const SHORT_COUNTRY_CODES = new Set([
  '1',
  '7',
  '20',
  '27',
  '30',
  '31',
  '32',
  '33',
  '34',
  '36',
  '39',
  '40',
  '41',
  '43',
  '44',
  '45',
  '46',
  '47',
  '48',
  '49',
  '51',
  '52',
  '53',
  '54',
  '55',
  '56',
  '57',
  '58',
  '60',
  '61',
  '62',
  '63',
  '64',
  '65',
  '66',
  '81',
  '82',
  '84',
  '86',
  '90',
  '91',
  '92',
  '93',
  '94',
  '95',
  '98',
]);

/** The country prefix of an E.164 number (`+1`, `+44`, `+353`). */
export function countryPrefix(e164: string): string {
  const digits = e164.slice(1);
  for (const length of [1, 2])
    if (SHORT_COUNTRY_CODES.has(digits.slice(0, length))) return `+${digits.slice(0, length)}`;
  return `+${digits.slice(0, 3)}`;
}

/** The prefixes `to` may start with: OUTBOUND_ALLOW, or the `from` number's country. */
export function allowedPrefixes(allow: readonly string[] | null, from: string): readonly string[] {
  return allow ?? [countryPrefix(from)];
}

/** True when OUTBOUND_ALLOW (or the default) lets this call through. */
export function mayDial(to: string, from: string, allow: readonly string[] | null): boolean {
  return allowedPrefixes(allow, from).some((prefix) => to.startsWith(prefix));
}
