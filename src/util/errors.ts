/**
 * Error classes (STYLE §2.6). Errors are values at boundaries; an exception is a bug and is
 * caught per call. Every error carries a stable `code` that tests and logs can match.
 */

export type BridgeErrorCode =
  'BRIDGE_ERR_CONFIG' | 'BRIDGE_ERR_REALTIME_CONNECTION' | 'BRIDGE_ERR_STORE' | 'BRIDGE_ERR_INTERNAL';

export class BridgeError extends Error {
  readonly code: BridgeErrorCode;

  constructor(code: BridgeErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A configuration problem: names the variable, or the file and field path. */
export class ConfigError extends BridgeError {
  /** `PORT`, or `numbers.yaml: numbers."+1555…".voice` */
  readonly where: string;

  constructor(where: string, message: string, options?: ErrorOptions) {
    super('BRIDGE_ERR_CONFIG', message, options);
    this.where = where;
  }
}

/** The realtime socket failed; `retryable` says whether back-off and reconnect make sense (after livekit). */
export class RealtimeConnectionError extends BridgeError {
  readonly retryable: boolean;
  /** The provider's error code when there was one, e.g. `invalid_api_key`. */
  readonly providerCode: string | null;

  constructor(message: string, retryable: boolean, providerCode: string | null = null, options?: ErrorOptions) {
    super('BRIDGE_ERR_REALTIME_CONNECTION', message, options);
    this.retryable = retryable;
    this.providerCode = providerCode;
  }
}

/** A readable one-line description of anything thrown. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
