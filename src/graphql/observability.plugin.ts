import type { ApolloServerPlugin } from '@apollo/server';
import { currentSqlCounter } from '../db/sql-counter.js';
import {
  graphqlErrors,
  graphqlOperationDuration,
  operationLabel,
  sqlStatementsPerOperation,
} from '../observability/metrics.js';
import { activeSpan, markFailed, type Span } from '../observability/tracing.js';
import type { Logger } from '../shared/logger.js';
import type { GraphQLContext } from './context.js';
import { operationDisplayName } from './operation-name.js';

/**
 * One log line and the metrics for every GraphQL operation over HTTP: request id, operation
 * name (for an unnamed one, its type and root fields: `query models`) and type, caller,
 * duration, SQL statements and error codes. Variables are never logged
 * (they carry passwords, tokens and tensors). With tracing on, the operation's span
 * (src/http/graphql-span.ts) gets its name and outcome here, and the log line its trace id. Outside production the SQL count also goes back
 * in the `x-sql-statements` header, which the N+1 test and the benchmark read.
 */
export function observabilityPlugin(options: {
  logger: Logger;
  production: boolean;
}): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      return {
        async willSendResponse({ response, operationName, operation, document }) {
          const seconds = (performance.now() - started) / 1000;
          const name = operationDisplayName(operationName, operation, document);
          const label = operationLabel(name);
          const type = operation?.operation ?? 'unknown';
          const sql = currentSqlCounter()?.statements;
          // Codes as the client sees them: after formatError has mapped AppErrors and masked the rest.
          const formatted = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          const codes = formatted.map((e) => (typeof e.extensions?.code === 'string' ? e.extensions.code : 'UNKNOWN'));
          graphqlOperationDuration.observe({ operation: label, type, transport: 'http' }, seconds);
          if (sql !== undefined) {
            sqlStatementsPerOperation.observe({ operation: label }, sql);
            if (!options.production) response.http.headers.set('x-sql-statements', String(sql));
          }
          for (const code of codes) graphqlErrors.inc({ code, operation: label });
          const span = activeSpan();
          if (span) nameOperationSpan(span, { type, name, codes });
          const caller = contextValue.caller;
          options.logger.info(
            {
              requestId: contextValue.requestId,
              operation: name ?? null,
              type,
              callerId: caller.kind === 'user' ? caller.userId : null,
              apiKeyId: caller.kind === 'user' ? (caller.apiKeyId ?? null) : null,
              durationMs: Math.round(seconds * 1000 * 10) / 10,
              sqlStatements: sql ?? null,
              errors: codes.length ? codes : undefined,
              traceId: span?.spanContext().traceId,
            },
            'graphql operation',
          );
        },
      };
    },
  };
}

/** The OpenTelemetry GraphQL conventions' span name and attributes: `mutation createPrediction`. */
function nameOperationSpan(span: Span, op: { type: string; name: string | undefined; codes: string[] }): void {
  span.updateName(
    op.name ? `${op.type} ${op.name.replace(/^(query|mutation|subscription) /, '')}` : `GraphQL ${op.type}`,
  );
  span.setAttribute('graphql.operation.type', op.type);
  if (op.name) span.setAttribute('graphql.operation.name', op.name);
  if (op.codes.length) {
    span.setAttribute('graphql.error.codes', op.codes);
    markFailed(span, Object.assign(new Error(`GraphQL errors: ${op.codes.join(', ')}`), { code: op.codes[0] }));
  }
}
