import { describe, expect, it } from 'vitest';

import { parseProfiles } from '../../../src/config/numbers.js';
import { checkProfilesForDialect } from '../../../src/config/session-settings.js';
import { sessionConfigFor } from '../../../src/call/model-session.js';
import { encodeClientEvent } from '../../../src/protocol/realtime-codec.js';
import type { Dialect } from '../../../src/protocol/dialects.js';
import { RecordedProfileSchema } from '../../../src/protocol/recording.js';
import { recordedProfile } from '../../../src/recording/recorder.js';
import { ConfigError } from '../../../src/util/errors.js';

const FILE = '/etc/bridge/numbers.yaml';

function profileWith(fields: string) {
  return parseProfiles(`defaults:\n${fields.replace(/^/gm, '  ')}\n`, FILE).defaults;
}

/** The `session` of the `session.update` the call sends for a profile with `fields`, in `dialect`. */
function wireSession(fields: string, dialect: Dialect): Record<string, unknown> {
  const session = sessionConfigFor(profileWith(fields), true, []);
  return encodeClientEvent({ type: 'model.updateSession', session }, dialect)['session'] as Record<string, unknown>;
}

function parseError(yaml: string): ConfigError {
  try {
    parseProfiles(yaml, FILE);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('session settings: each field in its place, per dialect (SPEC §11, PROTOCOLS.md §10.1)', () => {
  const table: { field: string; ga: Record<string, unknown>; beta: Record<string, unknown> | 'refused' }[] = [
    { field: 'reasoning_effort: low', ga: { reasoning: { effort: 'low' } }, beta: 'refused' },
    {
      field: 'noise_reduction: far_field',
      ga: { audio: { input: { noise_reduction: { type: 'far_field' } } } },
      beta: { input_audio_noise_reduction: { type: 'far_field' } },
    },
    {
      field: 'noise_reduction: null',
      ga: { audio: { input: { noise_reduction: null } } },
      beta: { input_audio_noise_reduction: null },
    },
    { field: 'speed: 1.2', ga: { audio: { output: { speed: 1.2 } } }, beta: { speed: 1.2 } },
    { field: 'max_output_tokens: 300', ga: { max_output_tokens: 300 }, beta: { max_response_output_tokens: 300 } },
    { field: 'max_output_tokens: inf', ga: { max_output_tokens: 'inf' }, beta: { max_response_output_tokens: 'inf' } },
    { field: 'truncation: disabled', ga: { truncation: 'disabled' }, beta: 'refused' },
    {
      field: 'truncation: { retention_ratio: 0.8 }',
      ga: { truncation: { type: 'retention_ratio', retention_ratio: 0.8 } },
      beta: 'refused',
    },
    {
      field: 'turn_detection: { type: semantic_vad, eagerness: low }',
      ga: { audio: { input: { turn_detection: { type: 'semantic_vad', eagerness: 'low' } } } },
      beta: { turn_detection: { type: 'semantic_vad', eagerness: 'low' } },
    },
    {
      field: 'transcription: { model: gpt-4o-mini-transcribe, language: en, prompt: Acme }',
      ga: { audio: { input: { transcription: { model: 'gpt-4o-mini-transcribe', language: 'en', prompt: 'Acme' } } } },
      beta: { input_audio_transcription: { model: 'gpt-4o-mini-transcribe', language: 'en', prompt: 'Acme' } },
    },
  ];

  for (const { field, ga, beta } of table) {
    it(`${field}: GA`, () => {
      expect(wireSession(field, 'ga')).toMatchObject(ga);
    });
    it(`${field}: beta`, () => {
      if (beta !== 'refused') {
        expect(wireSession(field, 'beta')).toMatchObject(beta);
        expect(() => checkProfilesForDialect(parseProfiles(`defaults:\n  ${field}\n`, FILE), 'beta')).not.toThrow();
        return;
      }
      const name = field.split(':')[0]!;
      const profiles = parseProfiles(`defaults:\n  voice: alloy\nnumbers:\n  "+15551230001":\n    ${field}\n`, FILE);
      expect(() => checkProfilesForDialect(profiles, 'beta')).toThrow(
        expect.objectContaining({ where: `${FILE}: numbers."+15551230001".${name}` }),
      );
      expect(() => checkProfilesForDialect(profiles, 'ga')).not.toThrow();
    });
  }

  it('a field left unset is not sent at all', () => {
    const session = wireSession('voice: alloy', 'ga');
    for (const key of ['reasoning', 'max_output_tokens', 'truncation']) expect(session).not.toHaveProperty(key);
    const audio = session['audio'] as { input: object; output: object };
    expect(audio.input).not.toHaveProperty('noise_reduction');
    expect(audio.output).not.toHaveProperty('speed');
  });

  it('numbers inherit settings from defaults; a number overrides one without losing the others', () => {
    const profiles = parseProfiles(
      'defaults:\n  speed: 1.1\n  reasoning_effort: low\nnumbers:\n  "+15551230001":\n    speed: 0.9\n',
      FILE,
    );
    expect(profiles.byNumber.get('+15551230001')!.modelSettings).toEqual({ speed: 0.9, reasoningEffort: 'low' });
  });

  it('model: per number, left unset otherwise', () => {
    const profiles = parseProfiles('numbers:\n  "+15551230001":\n    model: gpt-realtime-2\n', FILE);
    expect(profiles.byNumber.get('+15551230001')!.model).toBe('gpt-realtime-2');
    expect(profiles.defaults.model).toBeUndefined();
  });
});

describe('session settings: a bad value is a configuration error naming file, field and value', () => {
  const bad: [string, string, string][] = [
    ['reasoning_effort: extreme', 'defaults.reasoning_effort', '"extreme"'],
    ['speed: 2', 'defaults.speed', '2'],
    ['speed: 0.1', 'defaults.speed', '0.1'],
    ['max_output_tokens: 5000', 'defaults.max_output_tokens', '5000'],
    ['max_output_tokens: 0', 'defaults.max_output_tokens', '0'],
    ['noise_reduction: studio', 'defaults.noise_reduction', '"studio"'],
    ['truncation: { retention_ratio: 1.5 }', 'defaults.truncation.retention_ratio', '1.5'],
    ['turn_detection: { type: semantic_vad, eagerness: eager }', 'defaults.turn_detection.eagerness', '"eager"'],
    ['transcription: { model: whisper-1, prompt: "" }', 'defaults.transcription.prompt', '""'],
    ['idle: { after_ms: 10 }', 'defaults.idle.after_ms', '10'],
  ];
  for (const [field, where, value] of bad) {
    it(field, () => {
      const err = parseError(`defaults:\n  ${field}\n`);
      expect(err.where).toBe(`${FILE}: ${where}`);
      expect(err.message).toContain(`numbers.yaml: ${where}: ${value}`);
    });
  }
});

describe('idle settings', () => {
  it('defaults fill what idle leaves out; absent idle is off', () => {
    expect(profileWith('idle: {}').idle).toMatchObject({
      afterMs: 8000,
      prompts: ['Are you still there?'],
      endAfter: 2,
    });
    expect(profileWith('voice: alloy').idle).toBeNull();
  });

  it('is kept in a recording header, so a replay runs the same silence handling', () => {
    const profile = profileWith('idle: { after_ms: 5000, prompts: [Hello?], end_after: 1 }');
    const header = RecordedProfileSchema.parse(JSON.parse(JSON.stringify(recordedProfile(profile))));
    expect(header.idle).toEqual(profile.idle);
  });
});
