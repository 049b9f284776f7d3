/**
 * `GET /console` (SPEC §12): the operator console, behind the `/api` rule (SPEC §8):
 *
 * - with `ADMIN_TOKEN`: a login form trades the token for a session cookie (`console-auth.ts`);
 * - without it, with `TWILIO_AUTH_TOKEN` set: closed (401);
 * - without either (local mode): this machine only, no login.
 *
 * The page is a shell; the script (`/console/app.js`, bundled from `console/src/` on first
 * request) draws every page from the `/api` answers. Every answer carries a strict
 * Content-Security-Policy; nothing is loaded from anywhere but the bridge.
 */
import express, { type Request, type Response, type Router } from 'express';

import { isLocalRequest } from '../security/local-request.js';
import { consoleBundle, type ConsoleAsset } from './console-bundle.js';
import { clearedCookie, CONSOLE_CSP, type ConsoleSessions } from './console-auth.js';

export interface ConsoleAccess {
  adminToken: string | null;
  /** TWILIO_AUTH_TOKEN is set: without ADMIN_TOKEN the console is closed */
  signedMode: boolean;
  sessions: ConsoleSessions | null;
}

function secureHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cache-Control', 'no-store');
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/app.css">
</head>
<body>
${body}
</body>
</html>
`;
}

const SHELL = page(
  'Phone bridge console',
  `<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <span class="brand">Phone bridge</span>
  <nav aria-label="Console pages">
    <a href="#/calls">Calls</a><a href="#/live">Live</a><a href="#/numbers">Numbers</a>
    <a href="#/dial">Dial</a><a href="#/overview">Overview</a>
  </nav>
  <form method="post" action="/console/logout" class="logout"><button type="submit">Log out</button></form>
</header>
<main id="main" tabindex="-1"><p>Loading…</p></main>
<script type="module" src="/console/app.js"></script>`,
);

function loginPage(error: string | null): string {
  return page(
    'Log in — phone bridge console',
    `<main id="main" class="login">
  <h1>Phone bridge console</h1>
  <form method="post" action="/console/login">
    <label for="token">Admin token</label>
    <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
    ${error !== null ? `<p class="error" role="alert">${error}</p>` : ''}
    <button type="submit">Log in</button>
  </form>
</main>`,
  );
}

/** Whether the request may see the console: `ok`, or why not. */
function access(deps: ConsoleAccess, req: Request): 'ok' | 'login' | 'closed' | 'remote' {
  if (deps.adminToken !== null) return deps.sessions?.valid(req) ? 'ok' : 'login';
  if (deps.signedMode) return 'closed';
  return isLocalRequest(req) ? 'ok' : 'remote';
}

function sendAsset(req: Request, res: Response, asset: ConsoleAsset): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('ETag', asset.etag);
  res.setHeader('Cache-Control', 'no-cache');
  if (req.headers['if-none-match'] === asset.etag) {
    res.status(304).end();
    return;
  }
  res.type(asset.type).send(asset.body);
}

export function consoleRoutes(deps: ConsoleAccess): Router {
  const router = express.Router();
  const secure = (req: Request) => req.secure;

  router.get('/console', (req, res) => {
    secureHeaders(res);
    switch (access(deps, req)) {
      case 'ok':
        res.type('html').send(SHELL);
        return;
      case 'login':
        // 200, not 401: the form is the answer (a browser logs every 401 page as an error)
        res.type('html').send(loginPage(null));
        return;
      case 'closed':
        res.status(401).type('text').send('The console is closed: TWILIO_AUTH_TOKEN is set, so it needs ADMIN_TOKEN.');
        return;
      case 'remote':
        res.status(403).type('text').send('Without ADMIN_TOKEN the console answers this machine only.');
    }
  });

  router.post('/console/login', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => {
    secureHeaders(res);
    const token: unknown = (req.body as Record<string, unknown> | undefined)?.['token'];
    if (deps.adminToken === null || deps.sessions === null) {
      res.redirect(303, '/console');
      return;
    }
    if (typeof token !== 'string' || !deps.sessions.tokenMatches(token, deps.adminToken)) {
      res.status(401).type('html').send(loginPage('That is not the admin token.'));
      return;
    }
    res.setHeader('Set-Cookie', deps.sessions.issue(secure(req)));
    res.redirect(303, '/console');
  });

  router.post('/console/logout', (req, res) => {
    secureHeaders(res);
    res.setHeader('Set-Cookie', clearedCookie(secure(req)));
    res.redirect(303, '/console');
  });

  router.get('/console/app.js', async (req, res, next) => {
    try {
      sendAsset(req, res, (await consoleBundle()).js);
    } catch (err) {
      next(err);
    }
  });

  router.get('/console/app.css', async (req, res, next) => {
    try {
      sendAsset(req, res, (await consoleBundle()).css);
    } catch (err) {
      next(err);
    }
  });

  return router;
}
