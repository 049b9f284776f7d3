/**
 * The `error` payloads the emulator sends, with the codes and message texts the real API uses
 * where they are known (PROTOCOLS.md §6.7; [O] = observed in the field). Clients are told to
 * match on `code` and fall back to the message, so both are kept close to the real ones.
 */

/** The `error` object of a server `error` event. */
export interface WireError {
  type: string;
  code: string | null;
  message: string;
  param: string | null;
  /** the client event id this answers, when known */
  event_id: string | null;
}

function invalid(code: string, message: string, param: string | null = null): WireError {
  return { type: 'invalid_request_error', code, message, param, event_id: null };
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `'${(text ?? 'undefined').slice(0, 80)}'`;
}

/** Builders of the errors the emulator sends, one per situation. */
export const wireErrors = {
  invalidJson: (): WireError =>
    invalid(
      'invalid_json',
      'We could not parse the JSON body of your request. ' +
        "(HINT: This likely means you aren't using your HTTP library correctly. " +
        'The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)',
    ),
  binaryFrame: (): WireError =>
    invalid('invalid_request_error', 'Binary WebSocket messages are not supported; send JSON text messages.'),
  invalidAudio: (): WireError =>
    invalid('invalid_value', "Invalid 'audio'. Expected base64-encoded audio bytes.", 'audio'),
  webRtcOnly: (type: string): WireError =>
    invalid('invalid_value', `${type} is only supported for WebRTC and SIP sessions.`, 'type'),
  missingParameter: (param: string): WireError =>
    invalid('missing_required_parameter', `Missing required parameter: '${param}'.`, param),
  unknownParameter: (param: string): WireError => invalid('unknown_parameter', `Unknown parameter: '${param}'.`, param),
  invalidType: (param: string, expected: string, got: unknown): WireError =>
    invalid(
      'invalid_type',
      `Invalid type for '${param}': expected ${expected}, ` +
        `but got ${got === null ? 'null' : Array.isArray(got) ? 'an array' : `a ${typeof got}`} instead.`,
      param,
    ),
  invalidValue: (param: string, value: unknown, supported?: readonly string[]): WireError =>
    invalid(
      'invalid_value',
      supported === undefined
        ? `Invalid value: ${quote(value)}.`
        : `Invalid value: ${quote(value)}. Supported values are: ${supported.map((s) => `'${s}'`).join(', ')}.`,
      param,
    ),
  /** the API's range errors (`integer_below_min_value` / `decimal_above_max_value` family) */
  numberTooSmall: (param: string, min: number, got: unknown, kind: 'integer' | 'decimal' = 'decimal'): WireError =>
    invalid(`${kind}_below_min_value`, `Invalid '${param}': ${quote(got)} is below the minimum value ${min}.`, param),
  numberTooLarge: (param: string, max: number, got: unknown, kind: 'integer' | 'decimal' = 'decimal'): WireError =>
    invalid(`${kind}_above_max_value`, `Invalid '${param}': ${quote(got)} is above the maximum value ${max}.`, param),
  /** [O] wording from field reports; the code name is not confirmed (PROTOCOLS §8.9). */
  commitTooSmall: (bufferedMs: number): WireError =>
    invalid(
      'input_audio_buffer_commit_empty',
      'Error committing input audio buffer: buffer too small. ' +
        `Expected at least 100ms of audio, but buffer only has ${bufferedMs.toFixed(2)}ms of audio.`,
    ),
  activeResponse: (responseId: string): WireError =>
    invalid(
      'conversation_already_has_active_response',
      `Conversation already has an active response in progress: ${responseId}. ` +
        'Wait until the response is finished before creating a new one.',
    ),
  cancelNotActive: (): WireError =>
    invalid('response_cancel_not_active', 'Cancellation failed: no active response found'),
  /** [O] "Audio content of 9800ms is already shorter than 11579ms", sent with `event_id: null`. */
  truncateTooLong: (audioMs: number, requestedMs: number): WireError =>
    invalid('invalid_value', `Audio content of ${audioMs}ms is already shorter than ${requestedMs}ms`, 'audio_end_ms'),
  itemNotFound: (param: string, itemId: string): WireError =>
    invalid('invalid_value', `Item with item_id '${itemId}' not found.`, param),
  truncateNotAssistant: (itemId: string): WireError =>
    invalid(
      'invalid_value',
      `Only assistant messages with audio can be truncated; item '${itemId}' is not one.`,
      'item_id',
    ),
  duplicateItemId: (itemId: string): WireError =>
    invalid('invalid_value', `Item with id '${itemId}' already exists.`, 'item.id'),
  unknownCallId: (callId: string): WireError =>
    invalid('invalid_value', `No function call with call_id '${callId}' found in the conversation.`, 'item.call_id'),
  cannotUpdateVoice: (): WireError =>
    invalid(
      'cannot_update_voice',
      "Cannot update a conversation's voice if assistant audio is present.",
      'session.voice',
    ),
  unsupportedByEmulator: (param: string, what: string): WireError =>
    invalid('invalid_value', `The local emulator does not support ${what}.`, param),
  sessionExpired: (minutes: number): WireError => ({
    type: 'invalid_request_error',
    code: 'session_expired',
    message: `Your session hit the maximum duration of ${minutes} minutes.`,
    param: null,
    event_id: null,
  }),
  betaShapeDisabled: (): WireError =>
    invalid(
      'beta_api_shape_disabled',
      'The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.',
    ),
  invalidApiKey: (): WireError => invalid('invalid_api_key', 'Incorrect API key provided.'),
};
