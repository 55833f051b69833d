import type { ErrorRequestHandler } from 'express';
import { ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

type HttpError = Error & { status?: number; statusCode?: number; type?: string };

/**
 * Errors raised before GraphQL runs (body too large, malformed JSON) answered in the GraphQL
 * response shape with a code, instead of Express's default HTML page (which prints the stack
 * trace outside production).
 */
export function bodyErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: HttpError, _req, res, next) => {
    if (res.headersSent) return next(err);
    const status = err.status ?? err.statusCode ?? 500;
    let code: string = ErrorCode.INTERNAL_SERVER_ERROR;
    let message = 'Internal server error';
    if (status === 413) {
      code = ErrorCode.PAYLOAD_TOO_LARGE;
      message = 'Request body is too large';
    } else if (status >= 400 && status < 500) {
      code = 'BAD_REQUEST';
      message = err.type === 'entity.parse.failed' ? 'Request body is not valid JSON' : 'Bad request';
    } else {
      logger.error({ err }, 'unexpected error before GraphQL execution');
    }
    res.status(status >= 400 && status < 600 ? status : 500).json({ errors: [{ message, extensions: { code } }] });
  };
}
