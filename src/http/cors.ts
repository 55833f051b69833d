import type { RequestHandler } from 'express';
import { ErrorCode } from '../shared/errors.js';
import { requestIdOf } from '../observability/request-id.js';
import type { CorsPolicy } from './cors.config.js';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function isLocalhostOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && LOCAL_HOSTS.has(url.hostname);
  } catch {
    return false;
  }
}

/** Whether a browser page from `origin` may read this API's responses. */
export function isOriginAllowed(policy: CorsPolicy, origin: string): boolean {
  return policy.anyOrigin || policy.origins.includes(origin) || (policy.localhost && isLocalhostOrigin(origin));
}

/**
 * Request headers browser clients send: JSON bodies, credentials, the caller's own request id,
 * and the headers that get past Apollo's CSRF prevention (multipart uploads send
 * `apollo-require-preflight`; Apollo Client may send `x-apollo-operation-name`).
 */
export const CORS_ALLOWED_HEADERS = [
  'content-type',
  'authorization',
  'x-api-key',
  'x-request-id',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  // Open Inference Protocol bodies with binary tensors (oip.routes.ts).
  'inference-header-content-length',
];

/** Response headers a page may read besides the CORS-safelisted ones. */
export const CORS_EXPOSED_HEADERS = [
  'x-request-id',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'ratelimit-policy',
  'retry-after',
  'inference-header-content-length',
];

/** How long a browser may reuse a preflight answer (Chromium caps it at 2 hours, Firefox at 24). */
export const CORS_MAX_AGE_SECONDS = 7200;

/**
 * CORS for the routes browsers call (mounted on /graphql, /health and /v2). An allowed origin gets
 * `Access-Control-Allow-Origin` on every answer and a 204 to its preflight; any other origin gets
 * no CORS header (the browser then keeps the response from the page) and a 403 to its preflight,
 * so the request itself is never sent.
 *
 * Credentials are never allowed (`Access-Control-Allow-Credentials` is not sent): callers
 * authenticate with `Authorization: Bearer` or `X-API-Key`, headers a page sets itself and which
 * CORS only needs to allow by name. The API sets and reads no cookies, so allowing credentialed
 * requests would widen what a listed origin can do (ambient cookies, HTTP auth) for no client
 * that needs it; with `*` the Fetch standard forbids it anyway.
 */
export function corsMiddleware(policy: CorsPolicy, methods: readonly string[]): RequestHandler {
  const allowMethods = [...methods, 'OPTIONS'].join(', ');
  return (req, res, next) => {
    const origin = req.headers.origin;
    // The answer depends on Origin unless every origin gets the same one: caches must key on it.
    if (!policy.anyOrigin) res.vary('Origin');
    const allowed = typeof origin === 'string' && isOriginAllowed(policy, origin);
    if (allowed) {
      res.setHeader('access-control-allow-origin', policy.anyOrigin ? '*' : origin);
      res.setHeader('access-control-expose-headers', CORS_EXPOSED_HEADERS.join(', '));
    }
    if (req.method !== 'OPTIONS') return next();
    const preflight = typeof origin === 'string' && req.headers['access-control-request-method'] !== undefined;
    if (preflight && !allowed) {
      res.status(403).json({
        errors: [
          {
            message: `Origin ${origin} may not call this API from a browser: it is not in CORS_ORIGINS`,
            extensions: { code: ErrorCode.FORBIDDEN, requestId: requestIdOf(res) },
          },
        ],
      });
      return;
    }
    res.setHeader('allow', allowMethods);
    if (preflight) {
      res.setHeader('access-control-allow-methods', allowMethods);
      res.setHeader('access-control-allow-headers', CORS_ALLOWED_HEADERS.join(', '));
      res.setHeader('access-control-max-age', String(CORS_MAX_AGE_SECONDS));
    }
    res.status(204).end();
  };
}
