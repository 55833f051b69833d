import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { isDependencyUnavailable } from '../shared/dependency-errors.js';
import { AppError, ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { currentRequestId } from '../observability/request-id.js';

/** Codes that describe the client's own request; their messages are safe to return as they are. */
const CLIENT_CODES = new Set<string>([
  ...Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/**
 * One place that decides what a client sees of an error. Expected errors (AppError, or GraphQL's
 * own parse/validation/coercion errors) keep their message and code. A dependency that is down
 * (src/shared/dependency-errors.ts) is SERVICE_UNAVAILABLE with `retryable: true`. Anything else is logged with
 * the request id and reaches the client as INTERNAL_SERVER_ERROR with a generic message; never a
 * stack trace. In production, "Did you mean …?" hints are removed so that errors don't spell out
 * the schema when introspection is off.
 *
 * Every error, masked ones included, carries `extensions.requestId`: the id of the response's
 * `x-request-id` header and of the server's log lines, for a client to quote. Over HTTP it comes
 * from the request's async context (Apollo hands formatError only the error); the WebSocket
 * transport passes its operation's id.
 */
export function createFormatError(options: { production: boolean; logger: Logger }) {
  return (
    formatted: GraphQLFormattedError,
    error: unknown,
    requestId: string | undefined = currentRequestId(),
  ): GraphQLFormattedError => {
    const result = formatError(options, formatted, error, requestId);
    return requestId ? { ...result, extensions: { ...result.extensions, requestId } } : result;
  };
}

function formatError(
  options: { production: boolean; logger: Logger },
  formatted: GraphQLFormattedError,
  error: unknown,
  requestId: string | undefined,
): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof AppError) {
    return { ...formatted, message: original.message, extensions: { ...original.details, code: original.code } };
  }
  let code = typeof formatted.extensions?.code === 'string' ? formatted.extensions.code : undefined;
  // Apollo's own refusals of a request (a persisted query whose hash does not match, say) set an
  // HTTP 4xx status but no code, so Apollo filled in INTERNAL_SERVER_ERROR: they are BAD_REQUEST.
  if (original instanceof GraphQLError && !original.extensions.code && isClientStatus(original.extensions.http)) {
    code = 'BAD_REQUEST';
  }
  if (code && CLIENT_CODES.has(code)) {
    const message = options.production ? formatted.message.replace(/ ?Did you mean .*$/, '') : formatted.message;
    const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, message, extensions: { ...extensions, code } };
  }
  if (isDependencyUnavailable(original)) {
    // The database or Redis is down or restarting: say so, so that clients retry (test/chaos/).
    options.logger.warn({ err: original, requestId, path: formatted.path }, 'a dependency is unavailable');
    return {
      message: 'A service this request needs is temporarily unavailable; retry shortly',
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, retryable: true },
    };
  }
  options.logger.error({ err: original, requestId, path: formatted.path }, 'unexpected error in GraphQL operation');
  return {
    message: 'Internal server error',
    path: formatted.path,
    locations: formatted.locations,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
}

function isClientStatus(http: unknown): boolean {
  const status = (http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}
