import type { EntityManager } from '@mikro-orm/postgresql';
import type { GraphQLError } from 'graphql';
import type { Context as WsContext } from 'graphql-ws';
import type { Extra as WsBaseExtra } from 'graphql-ws/use/ws';
import { SCOPES_FOR_ROLE } from '../auth/api-key.service.js';
import type { ApiKeyStatus, ApiKeyStatusCache } from '../auth/api-key-status-cache.js';
import { AuthFailure, unauthenticated } from '../auth/auth.errors.js';
import type { CallerResolver } from '../auth/caller-resolver.js';
import type { UserStatusCache } from '../auth/user-status-cache.js';
import { ANONYMOUS, type Caller } from '../shared/caller.js';
import { AppError, ErrorCode } from '../shared/errors.js';

/** What WebSocket authentication reads: the caller resolver, the key and user status caches. */
export type WebSocketAuthDeps = {
  callers: CallerResolver;
  apiKeyStatus: ApiKeyStatusCache;
  userStatus: UserStatusCache;
  fork: () => EntityManager;
};

/** WebSocket close codes this server uses (4400–4499 are the graphql-ws application range). */
export const WS_CLOSE = {
  /** Bad or missing credentials in connectionParams: graphql-ws's own code for `onConnect` → false. */
  FORBIDDEN: 4403,
  /** The access token (or API key) the connection was opened with has expired: reconnect with a fresh one. */
  CREDENTIALS_EXPIRED: 4401,
  /** This user already holds WS_MAX_CONNECTIONS_PER_USER connections. */
  TOO_MANY_CONNECTIONS: 4429,
} as const;

/** What this layer keeps on a graphql-ws connection's `extra`. */
export type WsAuthExtra = { caller?: Caller; onSocketClose?: () => void };

/** A graphql-ws connection as this layer sees it. */
export type WsAuthContext = WsContext<Record<string, unknown> | undefined, WsBaseExtra & Partial<WsAuthExtra>>;
type Ctx = WsAuthContext;

/** setTimeout's ceiling (~24.8 days); credentials that live longer are not timed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What HTTP answers for a closed account's token (caller-resolver.ts), for a WebSocket's next operation. */
const ACCOUNT_GONE = unauthenticated(AuthFailure.ACCOUNT_NOT_FOUND);

/**
 * graphql-ws authentication: `onConnect` resolves the caller from connectionParams
 * (`{ authorization: "Bearer …" }` or `{ apiKey: "aimpk_…" }`; none: anonymous) and refuses bad
 * credentials (graphql-ws closes with 4403). A connection is closed with 4401 when its credential
 * expires, and a user may hold at most `maxConnectionsPerUser` connections on this replica.
 */
export function websocketAuth(deps: WebSocketAuthDeps, options: { maxConnectionsPerUser: number }) {
  const perUser = new Map<string, number>();

  return {
    async onConnect(ctx: Ctx): Promise<boolean> {
      let resolved;
      try {
        resolved = await deps.callers.fromConnectionParams(deps.fork, ctx.connectionParams);
      } catch (err) {
        if (err instanceof AppError && err.code === ErrorCode.UNAUTHENTICATED) return false;
        throw err;
      }
      const { caller, expiresAt } = resolved;
      const socket = ctx.extra.socket;
      const cleanups: (() => void)[] = [];
      if (caller.kind === 'user') {
        const held = perUser.get(caller.userId) ?? 0;
        if (held >= options.maxConnectionsPerUser) {
          socket.close(WS_CLOSE.TOO_MANY_CONNECTIONS, 'Too many connections for this user');
          return false;
        }
        perUser.set(caller.userId, held + 1);
        cleanups.push(() => {
          const n = (perUser.get(caller.userId) ?? 1) - 1;
          if (n > 0) perUser.set(caller.userId, n);
          else perUser.delete(caller.userId);
        });
      }
      if (expiresAt) {
        const ms = expiresAt.getTime() - Date.now();
        if (ms <= 0) return false;
        if (ms < MAX_TIMER_MS) {
          const timer = setTimeout(() => socket.close(WS_CLOSE.CREDENTIALS_EXPIRED, 'Access token expired'), ms);
          timer.unref();
          cleanups.push(() => clearTimeout(timer));
        }
      }
      ctx.extra.caller = caller;
      socket.once('close', () => cleanups.forEach((fn) => fn()));
      return true;
    },

    /**
     * Before each new operation on a connection: its credential must still stand — an API key
     * not revoked, rotated away or expired (src/auth/api-key-status-cache.ts), the account behind
     * it or behind an access token still there (closed or deleted: the socket closes with 4403)
     * — and its role is the current one, which for a key also narrows its scopes to what the role
     * allows (src/auth/user-status-cache.ts). Both are cached (per key, per user), so usually no
     * query; a revocation, rotation or role change made in this process applies to the very next
     * operation. A connection lives as long as its credential, and would otherwise keep running
     * operations with the powers it connected with. Returns the errors that refuse the operation
     * (the socket is closed with them), or undefined to go on.
     */
    async recheck(ctx: Ctx): Promise<readonly GraphQLError[] | undefined> {
      const caller = ctx.extra.caller;
      if (!caller || caller.kind !== 'user') return undefined;
      const fork = deps.fork;
      let key: ApiKeyStatus = null;
      if (caller.apiKeyId) {
        key = await deps.apiKeyStatus.statusOf(fork, caller.apiKeyId);
        const failure = keyFailure(key, caller.userId);
        if (failure) return refuse(ctx, unauthenticated(failure));
      }
      const role = await deps.userStatus.roleOf(fork, caller.userId);
      if (role === null) return refuse(ctx, ACCOUNT_GONE);
      if (role !== caller.role) {
        const allowed = SCOPES_FOR_ROLE[role] as readonly string[];
        ctx.extra.caller = key
          ? { ...caller, role, scopes: key.scopes.filter((s) => allowed.includes(s)) }
          : { ...caller, role };
      }
      return undefined;
    },

    /** The caller for one operation on this connection. */
    callerOf(ctx: Ctx): Caller {
      return ctx.extra.caller ?? ANONYMOUS;
    },

    /** Open connections per user on this replica (for tests and metrics). */
    connectionsOf(userId: string): number {
      return perUser.get(userId) ?? 0;
    },
  };
}

/** Why an open connection's API key no longer stands, or undefined while it does. */
function keyFailure(key: ApiKeyStatus, userId: string): AuthFailure | undefined {
  if (!key || key.userId !== userId) return AuthFailure.INVALID_API_KEY;
  if (key.revokedAt) return AuthFailure.API_KEY_REVOKED;
  if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) return AuthFailure.API_KEY_EXPIRED;
  return undefined;
}

/** Closes the connection with 4403 and refuses the operation with the same error HTTP gives. */
function refuse(ctx: Ctx, error: AppError): readonly GraphQLError[] {
  ctx.extra.socket.close(WS_CLOSE.FORBIDDEN, error.message);
  return [error.toGraphQLError()];
}
