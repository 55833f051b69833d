import { Router } from 'express';
import type { App } from '../app.js';

/**
 * Kubernetes-style probes: `live` says the process answers (no dependency checks, so a database
 * outage does not get every replica restarted); `ready` says it can serve traffic now.
 */
export function healthRoutes(app: App): Router {
  const router = Router();
  router.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/ready', async (_req, res) => {
    const report = await app.readiness();
    res.status(report.ready ? 200 : 503).json({ status: report.ready ? 'ready' : 'not ready', checks: report.checks });
  });
  return router;
}
