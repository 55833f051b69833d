import type { EntityManager } from '@mikro-orm/postgresql';
import type { IncomingHttpHeaders } from 'node:http';
import { ANONYMOUS, type Caller } from '../shared/caller.js';
import type { AccessTokenService } from './access-token.service.js';
import { SCOPES_FOR_ROLE, type ApiKeyService } from './api-key.service.js';
import { AuthFailure, unauthenticated } from './auth.errors.js';
import type { UserStatusCache } from './user-status-cache.js';

/** A resolved caller and, when its credential expires, when (WebSocket connections close then). */
export type ResolvedCaller = { caller: Caller; expiresAt?: Date };

/**
 * Turns presented credentials into a `Caller`: an access JWT (`Authorization: Bearer …`, or
 * `{ authorization: "Bearer …" }` in graphql-ws connectionParams) or an API key (`X-API-Key`, or
 * `{ apiKey }`). No credential: anonymous. A credential that fails any check is an error, never
 * a silent downgrade to anonymous, so a client learns at once that it must log in again.
 *
 * A JWT is checked against the user's current row too (through `users`, cached per user): a
 * deleted or closed account is refused, and the role in the database wins over the token's.
 */
export class CallerResolver {
  constructor(
    private readonly tokens: AccessTokenService,
    private readonly apiKeys: ApiKeyService,
    private readonly users: UserStatusCache,
  ) {}

  /**
   * `em`: makes a fresh fork, called only when an API key or a JWT's user must be looked up (a
   * fork per request just in case was a measurable share of a cheap request's CPU).
   */
  async fromHttpHeaders(em: () => EntityManager, headers: IncomingHttpHeaders): Promise<ResolvedCaller> {
    return this.resolve(em, single(headers.authorization), single(headers['x-api-key']));
  }

  async fromConnectionParams(
    em: () => EntityManager,
    params: Readonly<Record<string, unknown>> | undefined,
  ): Promise<ResolvedCaller> {
    const p = params ?? {};
    const authorization = p.authorization ?? p.Authorization;
    const apiKey = p.apiKey ?? p['x-api-key'];
    if (authorization !== undefined && typeof authorization !== 'string')
      throw unauthenticated(AuthFailure.INVALID_TOKEN);
    if (apiKey !== undefined && typeof apiKey !== 'string') throw unauthenticated(AuthFailure.INVALID_API_KEY);
    return this.resolve(em, authorization, apiKey);
  }

  private async resolve(
    em: () => EntityManager,
    authorization: string | undefined,
    apiKey: string | undefined,
  ): Promise<ResolvedCaller> {
    if (authorization && apiKey)
      throw unauthenticated(AuthFailure.INVALID_TOKEN, { detail: 'Send one credential, not both' });
    if (authorization) {
      const match = /^Bearer +(\S+)\s*$/i.exec(authorization);
      if (!match) throw unauthenticated(AuthFailure.INVALID_TOKEN);
      const token = match[1];
      // An API key sent as a bearer token is accepted too (many HTTP clients only do Bearer).
      if (token.startsWith('aimpk_')) return this.fromApiKey(em, token);
      const claims = await this.tokens.verify(token);
      const role = await this.users.roleOf(em, claims.userId);
      // Refused here, before any resolver runs: a write would otherwise fail on a foreign key (500).
      if (role === null) throw unauthenticated(AuthFailure.ACCOUNT_NOT_FOUND);
      return { caller: { kind: 'user', userId: claims.userId, role }, expiresAt: claims.expiresAt };
    }
    if (apiKey) return this.fromApiKey(em, apiKey.trim());
    return { caller: ANONYMOUS };
  }

  /**
   * An API key follows its owner's row too, through the same per-user cache as a JWT: the key
   * cache (API_KEY_CACHE_SECONDS) remembers the key, not whether its owner still exists, so an
   * account closed in this process is refused at once, and a demoted owner's key keeps only the
   * scopes the new role allows.
   */
  private async fromApiKey(em: () => EntityManager, secret: string): Promise<ResolvedCaller> {
    const { expiresAt, ...key } = await this.apiKeys.authenticate(em(), secret);
    const role = await this.users.roleOf(em, key.userId);
    if (role === null) throw unauthenticated(AuthFailure.ACCOUNT_NOT_FOUND);
    const allowed = SCOPES_FOR_ROLE[role] as readonly string[];
    const caller = role === key.role ? key : { ...key, role, scopes: key.scopes?.filter((s) => allowed.includes(s)) };
    return expiresAt ? { caller, expiresAt } : { caller };
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
