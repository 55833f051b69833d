import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiKey } from '../entities/api-key.entity.js';
import { ApiKeyScope, Role } from '../entities/enums.js';
import { User } from '../entities/user.entity.js';
import type { Caller } from '../shared/caller.js';
import { AppError, badInput, ErrorCode, notFound } from '../shared/errors.js';
import type { ServiceContext } from '../shared/service-context.js';
import type { AuthConfig } from './auth.config.js';
import { AuthFailure, unauthenticated } from './auth.errors.js';
import { randomBase62, sha256Hex } from './secrets.js';
import { requireUser } from './access.js';
import { UUID } from '../shared/ids.js';
import type { ApiKeyStatusCache } from './api-key-status-cache.js';

export const API_KEY_PREFIX = 'aimpk_';
const API_KEY_PATTERN = /^aimpk_[0-9A-Za-z]{32}$/;
/** How much of the key listings show: `aimpk_` and six characters. */
const VISIBLE_PREFIX_LENGTH = API_KEY_PREFIX.length + 6;

/** Scopes a key may carry for each role: a key never does more than its owner's role allows. */
export const SCOPES_FOR_ROLE: Record<Role, readonly ApiKeyScope[]> = {
  [Role.CONSUMER]: [ApiKeyScope.MODELS_READ, ApiKeyScope.PREDICT, ApiKeyScope.BILLING_READ],
  [Role.PUBLISHER]: Object.values(ApiKeyScope),
  [Role.ADMIN]: Object.values(ApiKeyScope),
};

export type ApiKeyCaller = Extract<Caller, { kind: 'user' }> & { apiKeyId: string; expiresAt?: Date };

export type CreateApiKeyInput = { name: string; scopes: string[]; expiresInDays?: number | null };

/**
 * API keys: `aimpk_` + 32 base62 characters, stored only as a SHA-256 hash with a visible prefix.
 * Authentication is one indexed lookup (then cached for API_KEY_CACHE_SECONDS); `lastUsedAt` is written at most once per key per
 * API_KEY_LAST_USED_WRITE_SECONDS (the row read for authentication says when it was last
 * written, and an in-process map stops concurrent requests from all writing it).
 */
export class ApiKeyService {
  private readonly pendingTouches = new Map<string, number>();
  /**
   * Verified keys by hash, for API_KEY_CACHE_SECONDS: the lookup is most of an API-key request's
   * auth cost (bench/scenarios/auth-overhead.bench.ts). Revoking or rotating on this replica
   * drops the entry at once; other replicas notice within the TTL (0 turns the cache off).
   */
  private readonly verified = new Map<string, { caller: ApiKeyCaller; lastUsedAt: number; until: number }>();

  constructor(
    private readonly config: Pick<AuthConfig, 'apiKeyMaxPerUser' | 'apiKeyLastUsedWriteSeconds' | 'apiKeyCacheSeconds'>,
    /** What open WebSocket connections re-check their key against; told at once of a revocation. */
    private readonly status?: Pick<ApiKeyStatusCache, 'forget'>,
  ) {}

  /** Creates a key for the calling user (not through an API key); the secret is returned once. */
  async create(ctx: ServiceContext, input: CreateApiKeyInput): Promise<{ apiKey: ApiKey; secret: string }> {
    const caller = requireUser(ctx.caller, { allowApiKey: false });
    const name = input.name.trim();
    if (!name || name.length > 100) throw badInput('`name` must be 1 to 100 characters', { field: 'name' });
    const scopes = this.validateScopes(input.scopes, caller.role);
    const days = input.expiresInDays;
    if (days != null && (!Number.isInteger(days) || days < 1 || days > 3650)) {
      throw badInput('`expiresInDays` must be a whole number from 1 to 3650', { field: 'expiresInDays' });
    }
    const active = await ctx.em.count(ApiKey, { user: caller.userId, revokedAt: null });
    if (active >= this.config.apiKeyMaxPerUser) {
      throw new AppError(ErrorCode.CONFLICT, `At most ${this.config.apiKeyMaxPerUser} active API keys per user`);
    }
    return this.insert(ctx.em, {
      userId: caller.userId,
      name,
      scopes,
      expiresAt: days != null ? new Date(Date.now() + days * 86_400_000) : null,
    });
  }

  /** The caller's own unrevoked keys (bounded by API_KEY_MAX_PER_USER), newest first. */
  async list(ctx: ServiceContext): Promise<ApiKey[]> {
    const caller = requireUser(ctx.caller, { allowApiKey: false });
    return ctx.em.find(
      ApiKey,
      { user: caller.userId, revokedAt: null },
      { orderBy: { createdAt: 'desc', id: 'desc' } },
    );
  }

  /** Revokes a key of the caller's (admins: anyone's). Idempotent. */
  async revoke(ctx: ServiceContext, id: string): Promise<ApiKey> {
    const key = await this.findOwned(ctx, id);
    if (!key.revokedAt) {
      key.revokedAt = new Date();
      await ctx.em.flush();
    }
    this.forget(key);
    return key;
  }

  /**
   * A new secret for the same name, scopes and remaining lifetime; the old key stops working at
   * once (clients swap the secret, then nothing else changes).
   */
  async rotate(ctx: ServiceContext, id: string): Promise<{ apiKey: ApiKey; secret: string }> {
    const key = await this.findOwned(ctx, id);
    if (key.revokedAt) throw new AppError(ErrorCode.CONFLICT, 'This API key is revoked; create a new one');
    if (key.expiresAt && key.expiresAt <= new Date())
      throw new AppError(ErrorCode.CONFLICT, 'This API key has expired');
    key.revokedAt = new Date();
    const created = await this.insert(ctx.em, {
      userId: key.user.id,
      name: key.name,
      scopes: key.scopes,
      expiresAt: key.expiresAt ?? null,
      rotatedFromId: key.id,
    });
    // After the flush that committed the old key's revocation (with the new key's insert).
    this.forget(key);
    return created;
  }

  /**
   * The caller behind a presented key, or UNAUTHENTICATED. The owner's current role is read
   * with the key, so a demoted or deleted owner's keys lose their powers immediately.
   */
  async authenticate(em: EntityManager, secret: string, now = new Date()): Promise<ApiKeyCaller> {
    if (!API_KEY_PATTERN.test(secret)) throw unauthenticated(AuthFailure.INVALID_API_KEY);
    const keyHash = sha256Hex(secret);
    const cached = this.verified.get(keyHash);
    if (cached && cached.until > now.getTime() && !(cached.caller.expiresAt && cached.caller.expiresAt <= now)) {
      this.touch(em, cached.caller.apiKeyId, cached.lastUsedAt, now);
      return cached.caller;
    }
    this.verified.delete(keyHash);
    const key = await em.findOne(ApiKey, { keyHash }, { populate: ['user'] });
    if (!key || key.user.deletedAt) throw unauthenticated(AuthFailure.INVALID_API_KEY);
    if (key.revokedAt) throw unauthenticated(AuthFailure.API_KEY_REVOKED);
    if (key.expiresAt && key.expiresAt <= now) throw unauthenticated(AuthFailure.API_KEY_EXPIRED);
    this.touch(em, key.id, key.lastUsedAt?.getTime() ?? 0, now);
    const owner = key.user;
    const allowed = SCOPES_FOR_ROLE[owner.role];
    const caller: ApiKeyCaller = {
      kind: 'user',
      userId: owner.id,
      role: owner.role,
      apiKeyId: key.id,
      scopes: key.scopes.filter((s) => (allowed as readonly string[]).includes(s)),
      ...(key.expiresAt ? { expiresAt: key.expiresAt } : {}),
    };
    if (this.config.apiKeyCacheSeconds > 0) {
      if (this.verified.size >= 10_000) this.verified.clear(); // bounded; refills from the database
      const lastUsedAt = Math.max(key.lastUsedAt?.getTime() ?? 0, this.pendingTouches.get(key.id) ?? 0);
      this.verified.set(keyHash, { caller, lastUsedAt, until: now.getTime() + this.config.apiKeyCacheSeconds * 1000 });
    }
    return caller;
  }

  private forget(key: Pick<ApiKey, 'id' | 'keyHash'>): void {
    this.verified.delete(key.keyHash);
    this.status?.forget(key.id);
  }

  /** Writes lastUsedAt only when the stored value is older than the coalescing window. */
  private touch(em: EntityManager, keyId: string, stored: number, now: Date): void {
    const windowMs = this.config.apiKeyLastUsedWriteSeconds * 1000;
    const pending = this.pendingTouches.get(keyId) ?? 0;
    if (now.getTime() - Math.max(stored, pending) < windowMs) return;
    this.pendingTouches.set(keyId, now.getTime());
    // Off the request's path and its unit of work: a failed write costs a stale timestamp only.
    void em
      .fork()
      .nativeUpdate(ApiKey, { id: keyId }, { lastUsedAt: now })
      .catch(() => {})
      .finally(() => {
        // Kept while the window lasts: cached callers carry no fresher lastUsedAt than this map.
        setTimeout(() => {
          if (this.pendingTouches.get(keyId) === now.getTime()) this.pendingTouches.delete(keyId);
        }, windowMs).unref();
      });
  }

  private validateScopes(scopes: string[], role: Role): ApiKeyScope[] {
    const known = new Set<string>(Object.values(ApiKeyScope));
    const unique = [...new Set(scopes)];
    if (unique.length === 0) throw badInput('Give at least one scope', { field: 'scopes' });
    const unknown = unique.filter((s) => !known.has(s));
    if (unknown.length) {
      throw badInput(`Unknown scope ${unknown.join(', ')}; known: ${[...known].join(', ')}`, { field: 'scopes' });
    }
    const allowed = SCOPES_FOR_ROLE[role] as readonly string[];
    const beyond = unique.filter((s) => !allowed.includes(s));
    if (beyond.length) {
      throw badInput(`Your role (${role}) cannot grant ${beyond.join(', ')}`, { field: 'scopes' });
    }
    return unique as ApiKeyScope[];
  }

  private async findOwned(ctx: ServiceContext, id: string): Promise<ApiKey> {
    const caller = requireUser(ctx.caller, { allowApiKey: false });
    if (!UUID.test(id)) throw notFound('API key');
    const key = await ctx.em.findOne(ApiKey, { id });
    // Someone else's key is NOT_FOUND, not FORBIDDEN: ids of others' keys reveal nothing.
    if (!key || (key.user.id !== caller.userId && caller.role !== Role.ADMIN)) throw notFound('API key');
    return key;
  }

  private async insert(
    em: EntityManager,
    row: { userId: string; name: string; scopes: string[]; expiresAt: Date | null; rotatedFromId?: string },
  ): Promise<{ apiKey: ApiKey; secret: string }> {
    const secret = `${API_KEY_PREFIX}${randomBase62(32)}`;
    const apiKey = em.create(ApiKey, {
      user: em.getReference(User, row.userId),
      name: row.name,
      prefix: secret.slice(0, VISIBLE_PREFIX_LENGTH),
      keyHash: sha256Hex(secret),
      scopes: row.scopes,
      expiresAt: row.expiresAt,
      rotatedFromId: row.rotatedFromId ?? null,
    });
    await em.flush();
    return { apiKey, secret };
  }
}
