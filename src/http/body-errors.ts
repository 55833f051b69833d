import type { ErrorRequestHandler } from 'express';
import { requestIdOf } from '../observability/request-id.js';
import { ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

type HttpError = Error & { status?: number; statusCode?: number; type?: string };

/**
 * Errors raised outside GraphQL execution (body too large, malformed JSON, a missing playground
 * file) answered in the GraphQL response shape with a code and the request id, instead of
 * Express's default HTML page (which prints the stack trace outside production).
 */
export function bodyErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: HttpError, _req, res, next) => {
    if (res.headersSent) return next(err);
    const status = err.status ?? err.statusCode ?? 500;
    const requestId = requestIdOf(res);
    let code: string = ErrorCode.INTERNAL_SERVER_ERROR;
    let message = 'Internal server error';
    if (status === 413) {
      code = ErrorCode.PAYLOAD_TOO_LARGE;
      message = 'Request body is too large';
    } else if (status === 404) {
      code = ErrorCode.NOT_FOUND;
      message = 'Not found';
    } else if (status >= 400 && status < 500) {
      code = 'BAD_REQUEST';
      message = err.type === 'entity.parse.failed' ? 'Request body is not valid JSON' : 'Bad request';
    } else {
      logger.error({ err, requestId }, 'unexpected error before GraphQL execution');
    }
    res
      .status(status >= 400 && status < 600 ? status : 500)
      .json({ errors: [{ message, extensions: { code, requestId } }] });
  };
}
