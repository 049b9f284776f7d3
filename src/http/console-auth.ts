/**
 * The console's login (SPEC §8, §12): with `ADMIN_TOKEN` set, the login form trades the token
 * for a session cookie — HttpOnly (no script reads it), SameSite=Strict (no other site's page
 * sends it), `Secure` when the request came over https — holding an expiry and an HMAC of it
 * keyed by the admin token, so changing the token logs every session out and the server keeps
 * no session table.
 *
 * Cross-site writes: a cookie-authenticated write (anything but GET/HEAD) must also carry the
 * header `X-Bridge-Console: 1`. A page on another site cannot add a custom header without a
 * CORS preflight the bridge never grants, so a forged form or `fetch` is refused even where
 * a browser would send the cookie.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import type { Request } from 'express';

export const CONSOLE_COOKIE = 'bridge_console';
/** The header every cookie-authenticated write carries (see the file header). */
export const CONSOLE_WRITE_HEADER = 'x-bridge-console';
/** How long a console login lasts: a working day. */
export const CONSOLE_SESSION_MS = 12 * 3600_000;

/**
 * The console's Content-Security-Policy: scripts, styles, media and connections from the
 * bridge itself only; no inline script, no framing, forms post only here.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

function cookieValue(req: Request, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

function sameBytes(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class ConsoleSessions {
  private readonly key: Buffer;

  /** `adminToken` keys the cookies; `now` is the clock (epoch ms). */
  constructor(
    adminToken: string,
    private readonly now: () => number,
  ) {
    this.key = createHmac('sha256', adminToken).update('phone-bridge console session v1').digest();
  }

  private sign(expiresMs: number): string {
    return createHmac('sha256', this.key).update(String(expiresMs)).digest('base64url');
  }

  /** True when `token` is the admin token. */
  tokenMatches(token: string, adminToken: string): boolean {
    return sameBytes(token, adminToken);
  }

  /** A fresh session's `Set-Cookie` value. */
  issue(secure: boolean): string {
    const expires = this.now() + CONSOLE_SESSION_MS;
    const value = `${expires}.${this.sign(expires)}`;
    return cookie(value, CONSOLE_SESSION_MS / 1000, secure);
  }

  /** True when the request carries an unexpired session cookie this key signed. */
  valid(req: Request): boolean {
    const value = cookieValue(req, CONSOLE_COOKIE);
    if (value === null) return false;
    const [expires, mac] = value.split('.');
    const expiresMs = Number(expires);
    if (!Number.isSafeInteger(expiresMs) || mac === undefined || expiresMs <= this.now()) return false;
    return sameBytes(mac, this.sign(expiresMs));
  }
}

function cookie(value: string, maxAgeS: number, secure: boolean): string {
  const attrs = [`${CONSOLE_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeS}`];
  if (secure) attrs.push('Secure');
  return attrs.join('; ');
}

/** The `Set-Cookie` value that ends a session. */
export function clearedCookie(secure: boolean): string {
  return cookie('', 0, secure);
}

/** A write that needs no proof of origin (GET, HEAD), or one carrying the console's header. */
export function isSameOriginWrite(req: Request): boolean {
  return req.method === 'GET' || req.method === 'HEAD' || req.get(CONSOLE_WRITE_HEADER) === '1';
}
