import type { ErrorRequestHandler } from 'express';
import { bodyTooLarge, describeBytes } from '../inference/request-size.js';
import { requestIdOf } from '../observability/request-id.js';
import { ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

type HttpError = Error & { status?: number; statusCode?: number; type?: string; limit?: number; expose?: boolean };

/**
 * Errors raised outside GraphQL execution (body too large, malformed JSON, a multipart body
 * graphql-upload-ts refused, a missing playground file) answered in the GraphQL response shape with
 * a code and the request id, instead of Express's default HTML page (which prints the stack trace
 * outside production).
 */
export function bodyErrorHandler(
  logger: Logger,
  limits: { maxRequestBytes: number; uploadMaxFieldBytes: number },
): ErrorRequestHandler {
  return (err: HttpError, req, res, next) => {
    if (res.headersSent) return next(err);
    const status = err.status ?? err.statusCode ?? 500;
    const requestId = requestIdOf(res);
    let extensions: Record<string, unknown> = { code: ErrorCode.INTERNAL_SERVER_ERROR };
    let message = 'Internal server error';
    if (status === 413) {
      ({ message, extensions } = tooLarge(err, req.originalUrl, limits));
    } else if (status === 404) {
      extensions = { code: ErrorCode.NOT_FOUND };
      message = 'Not found';
    } else if (status >= 400 && status < 500) {
      extensions = { code: 'BAD_REQUEST' };
      message = err.type === 'entity.parse.failed' ? 'Request body is not valid JSON' : 'Bad request';
    } else {
      logger.error({ err, requestId }, 'unexpected error before GraphQL execution');
    }
    res
      .status(status >= 400 && status < 600 ? status : 500)
      .json({ errors: [{ message, extensions: { ...extensions, requestId } }] });
  };
}

function tooLarge(err: HttpError, url: string, limits: { maxRequestBytes: number; uploadMaxFieldBytes: number }) {
  // body-parser's own refusal of a JSON body on /graphql: the limit that follows the inference limit.
  if (err.type === 'entity.too.large' && url.startsWith('/graphql')) {
    const e = bodyTooLarge(limits.maxRequestBytes);
    return { message: e.message, extensions: { ...e.details, code: e.code } };
  }
  // graphql-upload-ts's refusals (a multipart field over UPLOAD_MAX_FIELD_BYTES, a second file)
  // carry a message that names the limit; it is safe to show (http-errors marks it `expose`).
  if (err.expose && !err.type) {
    const field = err.message.includes('multipart field');
    return {
      message: field
        ? `${err.message} Keep the operations and map fields under UPLOAD_MAX_FIELD_BYTES: the file goes in its own part.`
        : `${err.message} Send one file per request.`,
      extensions: {
        code: ErrorCode.PAYLOAD_TOO_LARGE,
        ...(field ? { maxBytes: limits.uploadMaxFieldBytes, limit: 'UPLOAD_FIELD' } : { limit: 'UPLOAD_FILES' }),
      },
    };
  }
  const limit = typeof err.limit === 'number' ? err.limit : undefined;
  return {
    message: limit
      ? `The request body is larger than the ${describeBytes(limit)} limit of this route`
      : 'Request body is too large',
    extensions: { code: ErrorCode.PAYLOAD_TOO_LARGE, ...(limit ? { maxBytes: limit } : {}) },
  };
}
