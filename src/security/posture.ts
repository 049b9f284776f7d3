/**
 * What start-up warns about: every setting weaker than the README's production setup
 * ("Security model"), one line each, saying what is exposed and which variable fixes it.
 */
import { MIN_BEARER_TOKEN_LENGTH, type Config } from '../config/env.js';

export type PostureSettings = Pick<
  Config,
  'localMode' | 'adminToken' | 'publicUrl' | 'metricsToken' | 'trustProxy' | 'bridgeSigningSecret'
>;

/** The warnings for this configuration, in order of harm; empty for a fully set-up bridge. */
export function securityWarnings(config: PostureSettings): string[] {
  const warnings: string[] = [];
  if (config.localMode) {
    warnings.push(
      'local mode: TWILIO_AUTH_TOKEN is not set, so webhooks and media streams are accepted unsigned ' +
        'from this machine only (loopback, and never through a proxy or tunnel: a request carrying ' +
        'X-Forwarded-For or a similar header is refused). Set TWILIO_AUTH_TOKEN before connecting a real number',
    );
    return [...warnings, ...signingWarning(config)];
  }
  if (config.adminToken === null) {
    warnings.push(
      'ADMIN_TOKEN is not set: the admin API (/api/*) answers 401 to everyone, this machine included. ' +
        `Set ADMIN_TOKEN (at least ${MIN_BEARER_TOKEN_LENGTH} random characters) to use it`,
    );
  }
  if (config.publicUrl === null) {
    warnings.push(
      'PUBLIC_URL is not set: webhook signatures are checked against the URL rebuilt from the Host header ' +
        `${config.trustProxy ? 'and X-Forwarded-Proto/-Host (TRUST_PROXY=1)' : ''}, which the client sends. ` +
        'Set PUBLIC_URL to the https address Twilio reaches',
    );
  }
  if (config.metricsToken === null) {
    warnings.push(
      'METRICS_TOKEN is not set: /metrics answers anyone who reaches this port. ' +
        'Set METRICS_TOKEN, or keep the port off the internet behind your proxy',
    );
  }
  return [...warnings, ...signingWarning(config)];
}

/** Tool, context and event requests go unsigned without BRIDGE_SIGNING_SECRET (SPEC §9). */
function signingWarning(config: PostureSettings): string[] {
  if (config.bridgeSigningSecret !== null) return [];
  return [
    'BRIDGE_SIGNING_SECRET is not set: requests to tool backends and context_url go unsigned, so a backend ' +
      "cannot tell them from a stranger's. Set BRIDGE_SIGNING_SECRET (e.g. openssl rand -hex 32) and check " +
      'x-bridge-signature in the backend',
  ];
}
