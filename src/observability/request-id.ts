import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';

/**
 * Request ids: one per HTTP request and one per GraphQL-over-WebSocket operation. It goes back in
 * the `x-request-id` response header, in every error's `extensions.requestId`, and in every log
 * line about the request, so a client's report can be matched with the server's log.
 */

/** What a client-sent id may look like: short and header-, log- and URL-safe. */
export const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

export const REQUEST_ID_HEADER = 'x-request-id';

/** The client's id when it is well-formed (so a caller can trace its own calls), else a fresh UUID. */
export function requestIdFrom(clientValue: unknown): string {
  return typeof clientValue === 'string' && REQUEST_ID.test(clientValue) ? clientValue : randomUUID();
}

/** The request id Express middleware gave this response (requestIdMiddleware runs first). */
export function requestIdOf(res: Response): string {
  const id = (res.locals as { requestId?: unknown }).requestId;
  return typeof id === 'string' ? id : '';
}

/**
 * First middleware of the server: every response, whichever route (or none) answers it, carries
 * `x-request-id`. The header is set before anything else runs, so error pages and 404s have it too.
 */
export function requestIdMiddleware(): RequestHandler {
  return (req, res, next) => {
    const id = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    res.locals.requestId = id;
    res.setHeader(REQUEST_ID_HEADER, id);
    next();
  };
}

// Apollo's formatError gets only the error, not the operation's context: the id reaches it here.
const storage = new AsyncLocalStorage<string>();

/** Runs `fn` (and everything it starts) with `requestId` as the current request id. */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return storage.run(requestId, fn);
}

/** The request id of the request being handled, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore();
}

/**
 * Re-enters the response's request id before the next handler. Mounted right before Apollo's
 * handler, not at the top: a body parser calls `next` from the socket's stream events, which do
 * not carry the async context the top middleware ran in.
 */
export function requestIdContext(): RequestHandler {
  return (_req, res, next) => withRequestId(requestIdOf(res), next);
}
