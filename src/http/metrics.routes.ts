import { Router, type RequestHandler } from 'express';
import { httpRequestDuration, registry } from '../observability/metrics.js';

/** `GET /metrics`: Prometheus text exposition of src/observability/metrics.ts. */
export function metricsRoutes(): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}

/**
 * Times every HTTP request. The route label is the matched path for the few routes this server
 * has (never the raw URL, whose query strings would make unbounded series).
 */
export function httpMetricsMiddleware(): RequestHandler {
  const known = new Set(['/graphql', '/health/live', '/health/ready', '/metrics', '/webhooks/stripe']);
  return (req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      // originalUrl: mounted routers rewrite req.path relative to their mount point.
      const path = req.originalUrl.split('?')[0] ?? '';
      const route = known.has(path) ? path : path.startsWith('/playground/') ? '/playground' : 'other';
      httpRequestDuration.observe(
        { method: req.method, route, status: String(res.statusCode) },
        (performance.now() - started) / 1000,
      );
    });
    next();
  };
}
