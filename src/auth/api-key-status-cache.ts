import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiKey } from '../entities/api-key.entity.js';
import { UUID } from '../shared/ids.js';
import { shareInFlight } from '../shared/in-flight.js';

/** What an open connection needs to know about its API key; `null`: there is no such key. */
export type ApiKeyStatus = { userId: string; revokedAt: Date | null; expiresAt: Date | null; scopes: string[] } | null;

export type ApiKeyStatusLookup = (em: EntityManager, keyId: string) => Promise<ApiKeyStatus>;

/** One primary-key read of the columns that can end a key (rotation revokes the old key). */
export const readApiKeyStatus: ApiKeyStatusLookup = async (em, keyId) => {
  if (!UUID.test(keyId)) return null;
  const key = await em.findOne(ApiKey, { id: keyId }, { fields: ['user', 'revokedAt', 'expiresAt', 'scopes'] });
  return key
    ? { userId: key.user.id, revokedAt: key.revokedAt ?? null, expiresAt: key.expiresAt ?? null, scopes: key.scopes }
    : null;
};

const MAX_ENTRIES = 50_000;

/**
 * Whether an API key still stands (not revoked or rotated away, not expired), remembered per key
 * for API_KEY_CACHE_SECONDS, as UserStatusCache does for users. A WebSocket connection is
 * authenticated once, when it opens; this lets every later operation on it re-check its key for
 * the price of a map lookup, and a revocation or rotation made in this process (`forget`,
 * called by ApiKeyService) applies to the very next operation. Other replicas notice within the
 * TTL, as with the HTTP path's key cache. 0 turns caching off (one read per operation).
 */
export class ApiKeyStatusCache {
  private readonly entries = new Map<string, { status: ApiKeyStatus; until: number }>();
  private readonly reads = new Map<string, Promise<ApiKeyStatus>>();
  /** Bumped by `forget`: a read that started before it may hold the old answer, so is not kept. */
  private generation = 0;
  private readonly ttlMs: number;

  constructor(
    options: { ttlSeconds: number },
    private readonly lookup: ApiKeyStatusLookup = readApiKeyStatus,
  ) {
    this.ttlMs = options.ttlSeconds * 1000;
  }

  /** The key's status: the cached answer as a plain value, else a read (`em` is called only then). */
  statusOf(em: () => EntityManager, keyId: string): ApiKeyStatus | Promise<ApiKeyStatus> {
    const entry = this.entries.get(keyId);
    if (entry && entry.until > Date.now()) return entry.status;
    if (entry) this.entries.delete(keyId);
    return shareInFlight(this.reads, keyId, async () => {
      const generation = this.generation;
      const status = await this.lookup(em(), keyId);
      if (this.ttlMs > 0 && generation === this.generation) {
        if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
        this.entries.set(keyId, { status, until: Date.now() + this.ttlMs });
      }
      return status;
    });
  }

  /** Drops what this process knows about a key: call after revoking or rotating it (after the commit). */
  forget(keyId: string): void {
    this.entries.delete(keyId);
    this.reads.delete(keyId);
    this.generation++;
  }
}
