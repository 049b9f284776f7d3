/**
 * The app-level error handler (SPEC §8): every error an HTTP route raises — a body that is not
 * JSON, too large, in a content type or charset the route does not take, a URL that does not
 * decode, or a bug — is answered as `{"error": "..."}` with its status. Never express's HTML
 * page, a stack trace or a file path: the message is chosen here from the error's kind, not
 * copied from the error. Server errors (5xx) are logged with the error; client errors at debug.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';

import { StoreUnavailableError } from '../store/call-store.js';
import type { Logger } from '../util/logger.js';

/** body-parser's documented error `type`s → the message a client sees. */
const BODY_ERRORS: Readonly<Record<string, string>> = {
  'entity.parse.failed': 'the request body is not valid JSON',
  'entity.too.large': 'the request body is too large',
  'encoding.unsupported': 'the request body has an unsupported Content-Encoding',
  'charset.unsupported': 'the request body has an unsupported charset',
  'parameters.too.many': 'the request body has too many parameters',
  'request.aborted': 'the request body was aborted before it arrived',
  'request.size.invalid': 'the request body is shorter or longer than its Content-Length',
  'entity.verify.failed': 'the request body was refused',
};

const STATUS_MESSAGES: Readonly<Record<number, string>> = {
  400: 'bad request',
  401: 'unauthorised',
  403: 'forbidden',
  404: 'not found',
  405: 'method not allowed',
  408: 'the request took too long to arrive',
  413: 'the request body is too large',
  415: 'unsupported content type',
};

/** A client status the error carries (body-parser and http-errors set `status`), else 500. */
function statusOf(err: unknown): number {
  if (typeof err !== 'object' || err === null) return 500;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  const s = typeof status === 'number' ? status : typeof statusCode === 'number' ? statusCode : 500;
  return Number.isInteger(s) && s >= 400 && s <= 599 ? s : 500;
}

/** What the client is told for an error of this status and kind. */
export function errorMessage(err: unknown, status: number): string {
  const type = typeof err === 'object' && err !== null ? (err as { type?: unknown }).type : undefined;
  if (typeof type === 'string' && BODY_ERRORS[type] !== undefined) return BODY_ERRORS[type];
  if (status >= 500) return 'internal error; see the bridge log';
  return STATUS_MESSAGES[status] ?? 'bad request';
}

/** The last handler of the app: answers every error as JSON. */
export function jsonErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const status = statusOf(err);
    const fields = { status, method: req.method, path: req.path, type: (err as { type?: unknown }).type };
    if (status >= 500) logger.error({ ...fields, err }, 'http request failed');
    else if (status === 413) logger.warn(fields, 'http request body too large');
    else logger.debug(fields, 'http request refused');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(status).json({ error: errorMessage(err, status) });
  };
}

/** Every route that matched nothing. */
export const jsonNotFound: RequestHandler = (_req, res) => {
  res.status(404).json({ error: 'not found' });
};

/** Answers `{"error": "..."}` with a status: how every JSON route says no. */
export function fail(res: Response, status: number, error: string): void {
  res.status(status).json({ error });
}

/** Seconds a client is told to wait when the call store cannot answer (a lock usually clears). */
const STORE_RETRY_AFTER_S = 5;

/** Runs a store read; a store that cannot answer now gives a 503 that says so. */
export async function fromStore<T>(res: Response, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    res.setHeader('Retry-After', String(STORE_RETRY_AFTER_S));
    fail(res, 503, err.message);
    return undefined;
  }
}
