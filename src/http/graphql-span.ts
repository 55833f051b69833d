import type { RequestHandler } from 'express';
import { withSqlCounter } from '../db/sql-counter.js';
import { activeSpan, startSpan, withContext } from '../observability/tracing.js';
import { requestIdOf } from '../observability/request-id.js';

/**
 * What every GraphQL-over-HTTP request runs inside: an SQL statement counter
 * (src/db/sql-counter.ts) and, when tracing is on, a span for the operation under the HTTP
 * server span, active for everything the request does (the observability plugin names it once
 * the operation is known: `mutation createPrediction`). It ends with the response.
 */
export function graphqlRequestScope(): RequestHandler {
  return (req, res, next) => {
    const server = activeSpan();
    if (!server) {
      withSqlCounter(() => next());
      return;
    }
    // The HTTP instrumentation knows no routes: name its span for the one it is.
    server.updateName(`${req.method} /graphql`);
    server.setAttribute('http.route', '/graphql');
    const { span, context } = startSpan('graphql', {
      attributes: { 'graphql.transport': 'http', 'request.id': requestIdOf(res) },
    });
    res.once('close', () => span.end());
    withContext(context, () => withSqlCounter(() => next()));
  };
}
