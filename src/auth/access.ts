import { type ApiKeyScope, Role } from '../entities/enums.js';
import type { Caller } from '../shared/caller.js';
import { AuthFailure, forbidden, unauthenticated } from './auth.errors.js';

/**
 * The access rules every service applies, in one place, with one set of coded errors
 * (auth.errors.ts: UNAUTHENTICATED or FORBIDDEN with a `reason`). Resolvers guard fields with
 * `@Authorized` (src/graphql/auth-checker.ts); services check again here, because the same
 * services run behind WebSocket operations, jobs and scripts, where no resolver guards them.
 */
export type UserCaller = Extract<Caller, { kind: 'user' }>;

/**
 * The calling user, or UNAUTHENTICATED. `scope`: an API-key caller must hold it (signed-in users
 * have every scope their role allows). `allowApiKey: false`: access tokens only, for
 * account-management actions (a leaked key must not mint more keys, or raise a spending cap).
 */
export function requireUser(caller: Caller, options: { scope?: ApiKeyScope; allowApiKey?: boolean } = {}): UserCaller {
  if (caller.kind !== 'user') throw unauthenticated(AuthFailure.LOGIN_REQUIRED);
  if (caller.apiKeyId) {
    if (options.allowApiKey === false) throw forbidden(AuthFailure.API_KEY_NOT_ALLOWED);
    if (options.scope) requireScope(caller, options.scope);
  }
  return caller;
}

/** An API-key caller must hold `scope`; other callers pass. */
export function requireScope(caller: UserCaller, scope: ApiKeyScope): UserCaller {
  if (caller.apiKeyId && !(caller.scopes ?? []).includes(scope)) {
    throw forbidden(AuthFailure.SCOPE_REQUIRED, { requiredScopes: [scope] });
  }
  return caller;
}

/** The calling user with one of `roles`, or FORBIDDEN. */
export function requireRole(caller: Caller, roles: readonly Role[], options: { scope?: ApiKeyScope } = {}): UserCaller {
  const user = requireUser(caller, options);
  if (!roles.includes(user.role)) throw forbidden(AuthFailure.ROLE_REQUIRED, { requiredRoles: [...roles] });
  return user;
}

/** The owner of a resource, or an admin; anyone else is FORBIDDEN. */
export function requireOwnerOrAdmin(
  caller: Caller,
  ownerId: string,
  options: { scope?: ApiKeyScope } = {},
): UserCaller {
  const user = requireUser(caller, options);
  if (!ownsOrAdmin(user, ownerId)) throw forbidden(AuthFailure.OWNER_REQUIRED);
  return user;
}

export const isAdmin = (caller: Caller): boolean => caller.kind === 'user' && caller.role === Role.ADMIN;

/** True when the caller is the owner of a resource, or an admin. */
export const ownsOrAdmin = (caller: Caller, ownerId: string): boolean =>
  caller.kind === 'user' && (caller.role === Role.ADMIN || caller.userId === ownerId);
