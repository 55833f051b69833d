import type { Request, Response } from 'express';
import { RateLimitedError } from '../auth/rate-limit/rate-limit.policy.js';
import { requestIdOf } from '../observability/request-id.js';
import { isDependencyUnavailable } from '../shared/dependency-errors.js';
import { AppError, ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/** The HTTP status of each of our codes on the REST routes (GraphQL answers 200 with errors). */
const STATUS: Record<string, number> = {
  [ErrorCode.BAD_USER_INPUT]: 400,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCode.QUOTA_EXCEEDED]: 402,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.SERVICE_UNAVAILABLE]: 503,
};

/**
 * Answers a REST route's failure as `{ error, code, requestId }` with the code's status: our
 * AppErrors as they are, an unreachable dependency as 503, anything else as a logged 500 whose
 * body says nothing of its cause.
 */
export function restErrorResponder(logger: Pick<Logger, 'error'>, what: string) {
  const fail = (res: Response, err: unknown) => {
    const requestId = requestIdOf(res);
    res.setHeader('x-request-id', requestId);
    if (err instanceof RateLimitedError) for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
    if (err instanceof AppError) {
      res.status(STATUS[err.code] ?? 500).json({ error: err.message, code: err.code, requestId });
      return;
    }
    if (isDependencyUnavailable(err)) {
      res
        .status(503)
        .json({ error: 'service unavailable, retry later', code: ErrorCode.SERVICE_UNAVAILABLE, requestId });
      return;
    }
    logger.error({ err, requestId }, `${what} failed`);
    res.status(500).json({ error: 'internal error', code: ErrorCode.INTERNAL_SERVER_ERROR, requestId });
  };
  const handle = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response) =>
    void fn(req, res).catch((err: unknown) => fail(res, err));
  return { fail, handle };
}
