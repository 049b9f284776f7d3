/**
 * Liveness and readiness (SPEC §3). `/healthz` answers while the process serves HTTP;
 * `/readyz` turns 503 as soon as the bridge starts draining, so a load balancer stops
 * sending new calls while live ones finish.
 */
import express, { type Router } from 'express';

export interface HealthDeps {
  isDraining: () => boolean;
  activeCalls: () => number;
}

export function healthRoutes(deps: HealthDeps): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    if (deps.isDraining()) {
      res.status(503).json({ ready: false, reason: 'draining', activeCalls: deps.activeCalls() });
      return;
    }
    res.json({ ready: true, activeCalls: deps.activeCalls() });
  });
  return router;
}
