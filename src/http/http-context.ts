import type { IncomingMessage } from 'node:http';
import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CallerResolver } from '../auth/caller-resolver.js';
import { buildContext } from '../graphql/build-context.js';
import type { GraphQLContext } from '../graphql/context.js';
import { ANONYMOUS, type Caller } from '../shared/caller.js';
import { AppError, ErrorCode } from '../shared/errors.js';

/** What an HTTP request's context is made from. */
export type HttpContextDeps = { callers: CallerResolver; fork: () => EntityManager };

/**
 * The context for one HTTP request: caller from its credentials (see `callerForHttpRequest`),
 * and its client address remembered for rate limiting. Express's `req.ip` honours `trust proxy`.
 */
export async function buildHttpContext(
  deps: HttpContextDeps,
  req: IncomingMessage & { ip?: string },
  requestId: string,
  // GraphQL's by default; other transports (the Open Inference routes) take the AppError one.
  resolveCaller: (deps: HttpContextDeps, req: IncomingMessage) => Promise<Caller> = callerForHttpRequest,
): Promise<GraphQLContext> {
  const ctx = buildContext(deps.fork, { requestId, caller: await resolveCaller(deps, req) });
  const ip = req.ip ?? req.socket.remoteAddress;
  // Set, not spread: the context's EntityManager and loaders are lazy getters (build-context.ts).
  if (ip) ctx.clientIp = ip;
  return ctx;
}

/**
 * The caller of an HTTP request from `Authorization: Bearer …` or `X-API-Key`: anonymous without
 * credentials; bad ones throw AppError UNAUTHENTICATED, never a silent anonymous request.
 */
export async function httpCaller(deps: HttpContextDeps, req: IncomingMessage): Promise<Caller> {
  if (!req.headers.authorization && !req.headers['x-api-key']) return ANONYMOUS;
  const { caller } = await deps.callers.fromHttpHeaders(deps.fork, req.headers);
  return caller;
}

/** `httpCaller` for GraphQL: bad credentials answer 401 (with `WWW-Authenticate`). */
export async function callerForHttpRequest(deps: HttpContextDeps, req: IncomingMessage): Promise<Caller> {
  try {
    return await httpCaller(deps, req);
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== ErrorCode.UNAUTHENTICATED) throw err;
    throw new GraphQLError(err.message, {
      extensions: {
        ...err.details,
        code: err.code,
        http: { status: 401, headers: new HeaderMap([['www-authenticate', 'Bearer error="invalid_token"']]) },
      },
    });
  }
}
