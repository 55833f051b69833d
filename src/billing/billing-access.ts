import { ApiKeyScope, type Role } from '../entities/enums.js';
import type { Caller } from '../shared/caller.js';
import { forbidden, unauthenticated } from './billing.errors.js';

export type UserCaller = Extract<Caller, { kind: 'user' }>;

/**
 * Billing's access rules in one place. API-key callers need `billing:read` for any billing read
 * (a key made for `predict` must not read invoices); signed-in users (no scopes) may read their own.
 */
export function requireUser(caller: Caller, scope: ApiKeyScope = ApiKeyScope.BILLING_READ): UserCaller {
  if (caller.kind !== 'user') throw unauthenticated();
  if (caller.apiKeyId && !(caller.scopes ?? []).includes(scope)) {
    throw forbidden(`This API key lacks the \`${scope}\` scope`);
  }
  return caller;
}

export function requireRole(caller: Caller, roles: Role[]): UserCaller {
  const user = requireUser(caller);
  if (!roles.includes(user.role)) throw forbidden(`Only ${roles.join(' or ').toLowerCase()}s may do this`);
  return user;
}
