import type { AuthCheckerFn } from 'type-graphql';
import { AuthFailure, forbidden, unauthenticated } from '../auth/auth.errors.js';
import { ApiKeyScope, Role } from '../entities/enums.js';
import type { Caller } from '../shared/caller.js';
import type { GraphQLContext } from './context.js';

const ROLES = new Set<string>(Object.values(Role));
const SCOPES = new Set<string>(Object.values(ApiKeyScope));

/**
 * What `@Authorized(...)` lists mean (type-graphql passes the list to `authChecker`):
 *
 * - `@Authorized()`: any signed-in user (access token). API keys are refused.
 * - Role names (`'PUBLISHER'`, `'ADMIN'`): the caller's role must be one of them. ADMIN is not
 *   implied: list it where admins may act (`@Authorized('PUBLISHER', 'ADMIN')`).
 * - Scope names (`ApiKeyScope.PREDICT` = `'predict'`, …): API keys are let in when they hold one
 *   of them. A field that lists no scope is closed to API keys (fail closed: a key only ever
 *   reaches what was deliberately opened to it). Access tokens ignore scopes.
 *
 * e.g. `@Authorized(Role.PUBLISHER, Role.ADMIN, ApiKeyScope.MODELS_WRITE)` on `createModel`:
 * publishers and admins, by token or by a key with `models:write` (whose owner is a publisher
 * or admin). Ownership (a publisher edits only their own models) is checked in the services.
 *
 * Refusals throw AppError: UNAUTHENTICATED for no caller, FORBIDDEN otherwise, with a `reason`.
 */
export const authChecker: AuthCheckerFn<GraphQLContext> = ({ context }, rules) => {
  assertAllowed(context.caller, rules);
  return true;
};

/** The same rules, for code that is not a resolver (e.g. subscription filters). */
export function assertAllowed(caller: Caller, rules: readonly string[]): void {
  const roles = rules.filter((r) => ROLES.has(r));
  const scopes = rules.filter((r) => SCOPES.has(r));
  if (roles.length + scopes.length !== rules.length) {
    throw new Error(`@Authorized() lists unknown roles or scopes: ${rules.join(', ')}`);
  }
  if (caller.kind !== 'user') throw unauthenticated(AuthFailure.LOGIN_REQUIRED);
  if (roles.length && !roles.includes(caller.role)) {
    throw forbidden(AuthFailure.ROLE_REQUIRED, { requiredRoles: roles });
  }
  if (caller.apiKeyId) {
    if (!scopes.length) throw forbidden(AuthFailure.API_KEY_NOT_ALLOWED);
    if (!scopes.some((s) => caller.scopes?.includes(s)))
      throw forbidden(AuthFailure.SCOPE_REQUIRED, { requiredScopes: scopes });
  }
}
