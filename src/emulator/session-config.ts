/**
 * The emulator's session configuration: defaults, validation of `session.update` in either
 * dialect (unknown fields are rejected the way the real API rejects them, which is what
 * catches a beta field sent to a GA endpoint), partial merge, and rendering back into the
 * connection's dialect for `session.created` / `session.updated`.
 *
 * The state is kept in GA shape (the canonical dialect); beta-only fields that GA dropped
 * (`temperature`) are remembered separately so a beta client sees them echoed.
 */
import { betaSessionToGa, gaSessionToBeta, type Dialect } from '../protocol/dialects.js';
import {
  MAX_OUTPUT_TOKENS_LIMIT,
  NOISE_REDUCTION_TYPES,
  REASONING_EFFORTS,
  SPEED_MAX,
  SPEED_MIN,
  VAD_EAGERNESS,
} from '../protocol/session-fields.js';
import { isWireObject, type WireObject } from '../protocol/wire-object.js';

import type { EmulatorAudioFormat } from './audio-convert.js';
import { wireErrors, type WireError } from './wire-errors.js';

/** GA session state (wire shape, fully populated). */
export interface GaSessionState extends WireObject {
  type: 'realtime';
  object: 'realtime.session';
  id: string;
  model: string;
  expires_at: number;
  output_modalities: string[];
  instructions: string;
  audio: {
    input: {
      format: WireObject;
      transcription: WireObject | null;
      noise_reduction: WireObject | null;
      turn_detection: WireObject | null;
    };
    output: { format: WireObject; voice: string; speed: number };
  };
  tools: WireObject[];
  tool_choice: unknown;
  max_output_tokens: unknown;
}

/** What the session remembers besides the GA state. */
export interface SessionConfigState {
  ga: GaSessionState;
  /** beta-only fields, echoed to beta clients */
  betaExtras: { temperature: number };
}

/** Instructions of a fresh session: says what this model is. */
export const EMULATOR_INSTRUCTIONS =
  'You are the local realtime emulator. You play back what the caller says after a short tone, ' +
  'and answer greetings and text with recorded clips.';

/**
 * Server VAD defaults of a fresh session. `silence_duration_ms` is 500 as in the SDK docs
 * (2024 sessions showed 200; PROTOCOLS §8.6 says clients should always set it).
 */
const DEFAULT_TURN_DETECTION = {
  type: 'server_vad',
  threshold: 0.5,
  prefix_padding_ms: 300,
  silence_duration_ms: 500,
  idle_timeout_ms: null,
  create_response: true,
  interrupt_response: true,
};

/** A fresh session: GA defaults (PCM16 24 kHz both ways, server VAD, voice alloy, no tools). */
export function defaultSessionState(init: { id: string; model: string; expiresAtS: number }): SessionConfigState {
  return {
    ga: {
      type: 'realtime',
      object: 'realtime.session',
      id: init.id,
      model: init.model,
      expires_at: init.expiresAtS,
      output_modalities: ['audio'],
      instructions: EMULATOR_INSTRUCTIONS,
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: 24000 },
          transcription: null,
          noise_reduction: null,
          turn_detection: { ...DEFAULT_TURN_DETECTION },
        },
        output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'alloy', speed: 1 },
      },
      tools: [],
      tool_choice: 'auto',
      max_output_tokens: 'inf',
      tracing: null,
      truncation: 'auto',
      prompt: null,
      include: null,
    },
    betaExtras: { temperature: 0.8 },
  };
}

const GA_SESSION_KEYS = new Set([
  'type',
  'model',
  'instructions',
  'output_modalities',
  'audio',
  'tools',
  'tool_choice',
  'max_output_tokens',
  'include',
  'prompt',
  'tracing',
  'truncation',
  'reasoning',
  'parallel_tool_calls',
  'id',
  'object',
  'expires_at',
]);
const BETA_SESSION_KEYS = new Set([
  'modalities',
  'instructions',
  'voice',
  'input_audio_format',
  'output_audio_format',
  'input_audio_transcription',
  'input_audio_noise_reduction',
  'turn_detection',
  'tools',
  'tool_choice',
  'temperature',
  'max_response_output_tokens',
  'speed',
  'tracing',
  'model',
  'include',
  'id',
  'object',
  'expires_at',
]);
const INPUT_KEYS = new Set(['format', 'transcription', 'noise_reduction', 'turn_detection']);
const OUTPUT_KEYS = new Set(['format', 'voice', 'speed']);
const VAD_KEYS: Readonly<Record<string, ReadonlySet<string>>> = {
  server_vad: new Set([
    'type',
    'threshold',
    'prefix_padding_ms',
    'silence_duration_ms',
    'idle_timeout_ms',
    'create_response',
    'interrupt_response',
  ]),
  semantic_vad: new Set(['type', 'eagerness', 'create_response', 'interrupt_response']),
};

/** The emulator format of a GA format object, or null if it cannot produce it. */
export function emulatorFormat(format: WireObject): EmulatorAudioFormat | null {
  if (format['type'] === 'audio/pcm') return 'pcm16';
  if (format['type'] === 'audio/pcmu') return 'pcmu';
  return null;
}

function checkFormat(value: unknown, param: string): WireError | null {
  if (!isWireObject(value)) return wireErrors.invalidType(param, 'an object', value);
  const type = value['type'];
  if (type !== 'audio/pcm' && type !== 'audio/pcmu' && type !== 'audio/pcma') {
    return wireErrors.invalidValue(`${param}.type`, type, ['audio/pcm', 'audio/pcmu', 'audio/pcma']);
  }
  if (type === 'audio/pcma') return wireErrors.unsupportedByEmulator(`${param}.type`, 'G.711 A-law (audio/pcma)');
  if (type === 'audio/pcm' && value['rate'] !== undefined && value['rate'] !== 24000) {
    return wireErrors.invalidValue(`${param}.rate`, value['rate'], ['24000']);
  }
  return null;
}

function checkTurnDetection(value: unknown, param: string): WireError | null {
  if (value === null) return null;
  if (!isWireObject(value)) return wireErrors.invalidType(param, 'an object', value);
  const type = value['type'];
  if (typeof type !== 'string' || VAD_KEYS[type] === undefined)
    return wireErrors.invalidValue(`${param}.type`, type, ['server_vad', 'semantic_vad']);
  for (const key of Object.keys(value))
    if (!VAD_KEYS[type].has(key)) return wireErrors.unknownParameter(`${param}.${key}`);
  const threshold = value['threshold'];
  if (threshold !== undefined && (typeof threshold !== 'number' || threshold < 0 || threshold > 1)) {
    return wireErrors.invalidValue(`${param}.threshold`, threshold);
  }
  for (const key of ['prefix_padding_ms', 'silence_duration_ms']) {
    const v = value[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0))
      return wireErrors.invalidType(`${param}.${key}`, 'an integer', v);
  }
  for (const key of ['create_response', 'interrupt_response']) {
    const v = value[key];
    if (v !== undefined && typeof v !== 'boolean') return wireErrors.invalidType(`${param}.${key}`, 'a boolean', v);
  }
  const eagerness = value['eagerness'];
  if (eagerness !== undefined && !(VAD_EAGERNESS as readonly unknown[]).includes(eagerness)) {
    return wireErrors.invalidValue(`${param}.eagerness`, eagerness, VAD_EAGERNESS);
  }
  return null;
}

/** `type: "mcp"` tools exist in GA only (PROTOCOLS.md §10.3); the emulator reaches servers by `server_url`. */
function checkTools(value: unknown, dialect: Dialect): WireError | null {
  if (!Array.isArray(value)) return wireErrors.invalidType('session.tools', 'an array', value);
  for (let i = 0; i < value.length; i++) {
    const tool: unknown = value[i];
    if (!isWireObject(tool)) return wireErrors.invalidType(`session.tools[${i}]`, 'an object', tool);
    if (tool['type'] === 'mcp' && dialect === 'ga') {
      if (typeof tool['server_label'] !== 'string' || tool['server_label'] === '')
        return wireErrors.missingParameter(`session.tools[${i}].server_label`);
      if (tool['connector_id'] !== undefined || tool['tunnel_id'] !== undefined)
        return wireErrors.unsupportedByEmulator(`session.tools[${i}]`, 'MCP connectors and tunnels');
      if (typeof tool['server_url'] !== 'string') return wireErrors.missingParameter(`session.tools[${i}].server_url`);
      if (tool['require_approval'] !== undefined && tool['require_approval'] !== 'never')
        return wireErrors.unsupportedByEmulator(`session.tools[${i}].require_approval`, 'MCP approvals');
      continue;
    }
    if (tool['type'] !== 'function')
      return wireErrors.invalidValue(
        `session.tools[${i}].type`,
        tool['type'],
        dialect === 'ga' ? ['function', 'mcp'] : ['function'],
      );
    if (typeof tool['name'] !== 'string' || tool['name'] === '')
      return wireErrors.missingParameter(`session.tools[${i}].name`);
  }
  return null;
}

const TRANSCRIPTION_KEYS = new Set(['model', 'language', 'prompt']);

function checkTranscription(t: unknown, param: string): WireError | null {
  if (t === undefined || t === null) return null;
  if (!isWireObject(t) || typeof t['model'] !== 'string') return wireErrors.missingParameter(`${param}.model`);
  for (const key of Object.keys(t))
    if (!TRANSCRIPTION_KEYS.has(key)) return wireErrors.unknownParameter(`${param}.${key}`);
  for (const key of ['language', 'prompt'])
    if (t[key] !== undefined && typeof t[key] !== 'string')
      return wireErrors.invalidType(`${param}.${key}`, 'a string', t[key]);
  return null;
}

function checkNoiseReduction(value: unknown, param: string): WireError | null {
  if (value === undefined || value === null) return null;
  if (!isWireObject(value)) return wireErrors.invalidType(param, 'an object', value);
  for (const key of Object.keys(value)) if (key !== 'type') return wireErrors.unknownParameter(`${param}.${key}`);
  if (!(NOISE_REDUCTION_TYPES as readonly unknown[]).includes(value['type']))
    return wireErrors.invalidValue(`${param}.type`, value['type'], NOISE_REDUCTION_TYPES);
  return null;
}

function checkSpeed(value: unknown, param: string): WireError | null {
  if (value === undefined) return null;
  if (typeof value !== 'number') return wireErrors.invalidType(param, 'a number', value);
  if (value < SPEED_MIN) return wireErrors.numberTooSmall(param, SPEED_MIN, value);
  if (value > SPEED_MAX) return wireErrors.numberTooLarge(param, SPEED_MAX, value);
  return null;
}

/** `reasoning`, `max_output_tokens` and `truncation` (PROTOCOLS.md §10.1). */
function checkModelSettings(session: WireObject): WireError | null {
  const reasoning = session['reasoning'];
  if (reasoning !== undefined && reasoning !== null) {
    if (!isWireObject(reasoning)) return wireErrors.invalidType('session.reasoning', 'an object', reasoning);
    for (const key of Object.keys(reasoning))
      if (key !== 'effort') return wireErrors.unknownParameter(`session.reasoning.${key}`);
    if (!(REASONING_EFFORTS as readonly unknown[]).includes(reasoning['effort']))
      return wireErrors.invalidValue('session.reasoning.effort', reasoning['effort'], REASONING_EFFORTS);
  }
  const tokens = session['max_output_tokens'];
  if (tokens !== undefined && tokens !== 'inf') {
    if (typeof tokens !== 'number' || !Number.isInteger(tokens))
      return wireErrors.invalidType('session.max_output_tokens', "an integer or 'inf'", tokens);
    if (tokens < 1) return wireErrors.numberTooSmall('session.max_output_tokens', 1, tokens, 'integer');
    if (tokens > MAX_OUTPUT_TOKENS_LIMIT)
      return wireErrors.numberTooLarge('session.max_output_tokens', MAX_OUTPUT_TOKENS_LIMIT, tokens, 'integer');
  }
  const truncation = session['truncation'];
  if (truncation !== undefined && truncation !== 'auto' && truncation !== 'disabled') {
    if (!isWireObject(truncation))
      return wireErrors.invalidValue('session.truncation', truncation, ['auto', 'disabled']);
    if (truncation['type'] !== 'retention_ratio')
      return wireErrors.invalidValue('session.truncation.type', truncation['type'], ['retention_ratio']);
    for (const key of Object.keys(truncation))
      if (!['type', 'retention_ratio', 'token_limits'].includes(key))
        return wireErrors.unknownParameter(`session.truncation.${key}`);
    const ratio = truncation['retention_ratio'];
    if (typeof ratio !== 'number')
      return wireErrors.invalidType('session.truncation.retention_ratio', 'a number', ratio);
    if (ratio < 0) return wireErrors.numberTooSmall('session.truncation.retention_ratio', 0, ratio);
    if (ratio > 1) return wireErrors.numberTooLarge('session.truncation.retention_ratio', 1, ratio);
  }
  return null;
}

/** Validates a GA-shaped partial session. `paramPrefix` names fields the way the wire does. */
function checkGaSession(session: WireObject, dialect: Dialect): WireError | null {
  const settingsError = checkModelSettings(session);
  if (settingsError) return settingsError;
  const modalities = session['output_modalities'];
  if (modalities !== undefined) {
    if (
      !Array.isArray(modalities) ||
      modalities.length !== 1 ||
      (modalities[0] !== 'audio' && modalities[0] !== 'text')
    ) {
      return wireErrors.invalidValue('session.output_modalities', modalities, ['audio', 'text']);
    }
  }
  if (session['instructions'] !== undefined && typeof session['instructions'] !== 'string') {
    return wireErrors.invalidType('session.instructions', 'a string', session['instructions']);
  }
  if (session['tools'] !== undefined) {
    const e = checkTools(session['tools'], dialect);
    if (e) return e;
  }
  const audio = session['audio'];
  if (audio !== undefined) {
    if (!isWireObject(audio)) return wireErrors.invalidType('session.audio', 'an object', audio);
    for (const key of Object.keys(audio))
      if (key !== 'input' && key !== 'output') return wireErrors.unknownParameter(`session.audio.${key}`);
    const input = audio['input'];
    if (input !== undefined) {
      if (!isWireObject(input)) return wireErrors.invalidType('session.audio.input', 'an object', input);
      for (const key of Object.keys(input))
        if (!INPUT_KEYS.has(key)) return wireErrors.unknownParameter(`session.audio.input.${key}`);
      if (input['format'] !== undefined) {
        const e = checkFormat(input['format'], 'session.audio.input.format');
        if (e) return e;
      }
      if (input['turn_detection'] !== undefined) {
        const e = checkTurnDetection(input['turn_detection'], 'session.audio.input.turn_detection');
        if (e) return e;
      }
      const e =
        checkTranscription(input['transcription'], 'session.audio.input.transcription') ??
        checkNoiseReduction(input['noise_reduction'], 'session.audio.input.noise_reduction');
      if (e) return e;
    }
    const output = audio['output'];
    if (output !== undefined) {
      if (!isWireObject(output)) return wireErrors.invalidType('session.audio.output', 'an object', output);
      for (const key of Object.keys(output))
        if (!OUTPUT_KEYS.has(key)) return wireErrors.unknownParameter(`session.audio.output.${key}`);
      if (output['format'] !== undefined) {
        const e = checkFormat(output['format'], 'session.audio.output.format');
        if (e) return e;
      }
      if (output['voice'] !== undefined && typeof output['voice'] !== 'string')
        return wireErrors.invalidType('session.audio.output.voice', 'a string', output['voice']);
      const e = checkSpeed(output['speed'], 'session.audio.output.speed');
      if (e) return e;
    }
  }
  return null;
}

const BETA_FORMATS = ['pcm16', 'g711_ulaw', 'g711_alaw'];

function checkBetaSession(session: WireObject): WireError | null {
  for (const key of ['input_audio_format', 'output_audio_format']) {
    const v = session[key];
    if (v !== undefined && !BETA_FORMATS.includes(v as string))
      return wireErrors.invalidValue(`session.${key}`, v, BETA_FORMATS);
  }
  const modalities = session['modalities'];
  if (modalities !== undefined) {
    const ok =
      Array.isArray(modalities) &&
      ((modalities.length === 1 && modalities[0] === 'text') ||
        (modalities.length === 2 && modalities.includes('text') && modalities.includes('audio')));
    if (!ok) return wireErrors.invalidValue('session.modalities', modalities, ['text', 'audio']);
  }
  if (session['turn_detection'] !== undefined) {
    const e = checkTurnDetection(session['turn_detection'], 'session.turn_detection');
    if (e) return e;
  }
  const t = session['temperature'];
  if (t !== undefined && (typeof t !== 'number' || t < 0.6 || t > 1.2))
    return wireErrors.invalidValue('session.temperature', t);
  return null;
}

/**
 * Applies a `session.update` session object received in `dialect` to `state`.
 * @param audioPresent assistant audio has been produced (the voice can no longer change)
 * @returns the new state, or the error the real API would send (state unchanged)
 */
export function applySessionUpdate(
  state: SessionConfigState,
  wireSession: unknown,
  dialect: Dialect,
  audioPresent: boolean,
): { ok: true; state: SessionConfigState } | { ok: false; error: WireError } {
  if (!isWireObject(wireSession))
    return { ok: false, error: wireErrors.invalidType('session', 'an object', wireSession) };
  const allowed = dialect === 'ga' ? GA_SESSION_KEYS : BETA_SESSION_KEYS;
  for (const key of Object.keys(wireSession)) {
    if (!allowed.has(key)) return { ok: false, error: wireErrors.unknownParameter(`session.${key}`) };
  }
  if (dialect === 'ga') {
    const type = wireSession['type'];
    if (type === undefined) return { ok: false, error: wireErrors.missingParameter('session.type') };
    if (type === 'transcription')
      return { ok: false, error: wireErrors.unsupportedByEmulator('session.type', 'transcription-only sessions') };
    if (type !== 'realtime')
      return { ok: false, error: wireErrors.invalidValue('session.type', type, ['realtime', 'transcription']) };
  } else {
    const e = checkBetaSession(wireSession);
    if (e) return { ok: false, error: e };
  }
  const ga = dialect === 'ga' ? wireSession : betaSessionToGa(wireSession);
  const error = checkGaSession(ga, dialect);
  if (error) return { ok: false, error };

  const next: SessionConfigState = structuredClone(state);
  const gaState = next.ga;
  for (const key of [
    'instructions',
    'output_modalities',
    'tools',
    'tool_choice',
    'max_output_tokens',
    'include',
    'prompt',
    'tracing',
    'truncation',
    'reasoning',
  ]) {
    if (ga[key] !== undefined) gaState[key] = structuredClone(ga[key]);
  }
  const audio = ga['audio'];
  if (isWireObject(audio)) {
    const input = audio['input'];
    if (isWireObject(input)) {
      for (const key of ['format', 'transcription', 'noise_reduction'] as const) {
        if (input[key] !== undefined) (gaState.audio.input as WireObject)[key] = structuredClone(input[key]);
      }
      const td = input['turn_detection'];
      if (td === null) gaState.audio.input.turn_detection = null;
      else if (isWireObject(td)) {
        const base =
          td['type'] === 'server_vad'
            ? DEFAULT_TURN_DETECTION
            : { type: 'semantic_vad', eagerness: 'auto', create_response: true, interrupt_response: true };
        gaState.audio.input.turn_detection = { ...base, ...structuredClone(td) };
      }
    }
    const output = audio['output'];
    if (isWireObject(output)) {
      if (output['format'] !== undefined) gaState.audio.output.format = structuredClone(output['format']) as WireObject;
      if (typeof output['speed'] === 'number') gaState.audio.output.speed = output['speed'];
      if (typeof output['voice'] === 'string' && output['voice'] !== gaState.audio.output.voice) {
        if (audioPresent) return { ok: false, error: wireErrors.cannotUpdateVoice() };
        gaState.audio.output.voice = output['voice'];
      }
    }
  }
  if (dialect === 'beta' && typeof wireSession['temperature'] === 'number')
    next.betaExtras.temperature = wireSession['temperature'];
  return { ok: true, state: next };
}

/** The effective session as `session.created` / `session.updated` carry it in `dialect`. */
export function renderSession(state: SessionConfigState, dialect: Dialect): WireObject {
  const ga = structuredClone(state.ga) as WireObject;
  if (dialect === 'ga') return ga;
  const beta = gaSessionToBeta(ga);
  beta['temperature'] = state.betaExtras.temperature;
  return beta;
}
