/**
 * What counts as a local request (SPEC §8 "behind a proxy or tunnel nothing counts as local").
 *
 * A tunnel (ngrok, cloudflared) or a reverse proxy on the same host connects from 127.0.0.1,
 * so the socket address alone would let the whole internet in through it. A request is local
 * only when its peer is a loopback address *and* it carries none of the headers a forwarder
 * adds. A proxy that adds none of them cannot be told apart from a local client: with
 * `TWILIO_AUTH_TOKEN` set, the admin API therefore needs `ADMIN_TOKEN` whatever the peer.
 */
import type { IncomingMessage } from 'node:http';

/**
 * Headers that mark a forwarded request, lower-case. The first five are SPEC §8's; the rest
 * are what common proxies add as well (Apache `Via`, Akamai `True-Client-IP`, …).
 */
export const FORWARDING_HEADERS: readonly string[] = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-real-ip',
  'cf-connecting-ip',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-server',
  'true-client-ip',
  'x-client-ip',
  'via',
];

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** The forwarding header a request carries, or null. */
export function forwardingHeader(req: Pick<IncomingMessage, 'headers'>): string | null {
  for (const name of FORWARDING_HEADERS) if (req.headers[name] !== undefined) return name;
  return null;
}

/** A request from this machine that no proxy or tunnel forwarded. */
export function isLocalRequest(req: Pick<IncomingMessage, 'headers' | 'socket'>): boolean {
  return isLoopbackAddress(req.socket.remoteAddress) && forwardingHeader(req) === null;
}
