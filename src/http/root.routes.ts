import { Router, type RequestHandler } from 'express';
import { requestIdOf } from '../observability/request-id.js';
import { ErrorCode } from '../shared/errors.js';

/**
 * `GET /`: where the API is. A browser (it asks for HTML) is redirected to /graphql, where the
 * playground answers; anything else gets a small JSON document naming the endpoints, because an
 * API client following a redirect would land on GraphQL-over-HTTP GET and be refused by CSRF
 * prevention, while `curl localhost:4000` should print something that says what to do next.
 */
export function rootRoutes(options: { playground: boolean }): Router {
  const router = Router();
  router.get('/', (req, res) => {
    if (options.playground && req.accepts(['application/json', 'text/html']) === 'text/html') {
      res.redirect(302, '/graphql');
      return;
    }
    res.json({
      name: 'model-marketplace',
      graphql: '/graphql',
      websocket: '/graphql (graphql-ws protocol)',
      playground: options.playground ? '/graphql (open it in a browser)' : null,
      health: { live: '/health/live', ready: '/health/ready' },
    });
  });
  return router;
}

/** Last route: anything unmatched is a JSON 404 in the GraphQL error shape, with the request id. */
export function notFoundHandler(): RequestHandler {
  return (req, res) => {
    res.status(404).json({
      errors: [
        {
          message: `No route for ${req.method} ${req.path}: the API is at /graphql`,
          extensions: { code: ErrorCode.NOT_FOUND, requestId: requestIdOf(res) },
        },
      ],
    });
  };
}
