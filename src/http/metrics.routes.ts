import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import express, { Router, type RequestHandler } from 'express';
import { httpRequestDuration, registry } from '../observability/metrics.js';
import { metricsText } from '../observability/cluster-metrics.js';

export type MetricsAccess = { token?: string; port?: number; open: boolean };

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * `GET /metrics`: Prometheus text exposition of src/observability/metrics.ts. It names models,
 * operations and traffic, so it is not for everyone: with METRICS_TOKEN a request must bear it
 * (`Authorization: Bearer …`; 401 otherwise); with METRICS_PORT it is served on that port only
 * (startMetricsServer) and not on the API's; with neither it is open outside production and
 * absent (404) in production.
 */
export function metricsRoutes(
  access: MetricsAccess,
  options: { ownPort?: boolean; text?: () => Promise<string> } = {},
): Router {
  const text = options.text ?? metricsText;
  const router = Router();
  const servedHere = options.ownPort || (!access.port && (access.open || access.token !== undefined));
  if (!servedHere) return router;
  const expected = access.token === undefined ? undefined : digest(access.token);
  router.get('/metrics', async (req, res) => {
    if (expected) {
      const match = /^Bearer +(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      // Compared as digests: equal lengths for timingSafeEqual, and no timing on the token's length.
      if (!match || !timingSafeEqual(digest(match[1]), expected)) {
        res.status(401).set('www-authenticate', 'Bearer realm="metrics"').json({ error: 'METRICS_TOKEN required' });
        return;
      }
    }
    let body: string;
    try {
      body = await text();
    } catch {
      res.status(503).json({ error: 'metrics unavailable' });
      return;
    }
    res.type(registry.contentType).send(body);
  });
  return router;
}

/**
 * METRICS_PORT: `/metrics` alone on a port of its own (e.g. reachable from the cluster only). With
 * several API processes the primary serves it, with the cluster's series (`text`).
 */
export async function startMetricsServer(
  access: MetricsAccess,
  host: string,
  text?: () => Promise<string>,
): Promise<{ server: Server; close: () => Promise<void> } | undefined> {
  if (!access.port) return undefined;
  const app = express();
  app.disable('x-powered-by');
  app.use(metricsRoutes(access, { ownPort: true, text }));
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(access.port, host, () => resolve());
  });
  return {
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
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
      const route = known.has(path)
        ? path
        : path.startsWith('/playground/')
          ? '/playground'
          : path.startsWith('/v2')
            ? path.endsWith('/infer')
              ? '/v2/infer'
              : '/v2'
            : 'other';
      httpRequestDuration.observe(
        { method: req.method, route, status: String(res.statusCode) },
        (performance.now() - started) / 1000,
      );
    });
    next();
  };
}
