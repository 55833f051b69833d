import { Role } from '../entities/enums.js';
import type { Caller } from '../shared/caller.js';
import { AuthFailure, forbidden, unauthenticated } from './auth.errors.js';

export type UserCaller = Extract<Caller, { kind: 'user' }>;

/**
 * For services: the calling user, or UNAUTHENTICATED. `allowApiKey: false` refuses API keys for
 * account-management actions (a leaked key must not mint more keys or change the account).
 */
export function requireUser(caller: Caller, options: { allowApiKey?: boolean } = {}): UserCaller {
  if (caller.kind !== 'user') throw unauthenticated(AuthFailure.LOGIN_REQUIRED);
  if (options.allowApiKey === false && caller.apiKeyId) throw forbidden(AuthFailure.API_KEY_NOT_ALLOWED);
  return caller;
}

export const isAdmin = (caller: Caller): boolean => caller.kind === 'user' && caller.role === Role.ADMIN;

/** True when the caller is the owner of a resource, or an admin. */
export const ownsOrAdmin = (caller: Caller, ownerId: string): boolean =>
  caller.kind === 'user' && (caller.role === Role.ADMIN || caller.userId === ownerId);
