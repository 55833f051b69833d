import type { EntityManager } from '@mikro-orm/postgresql';
import type { Role } from '../entities/enums.js';
import { User } from '../entities/user.entity.js';
import { UUID } from '../shared/ids.js';
import { shareInFlight } from '../shared/in-flight.js';

/** A live account's current role, or `null` where none has the id (row gone, or soft-deleted). */
export type UserStatusLookup = (em: EntityManager, userId: string) => Promise<Role | null>;

/** One primary-key read of the one column a caller needs; soft-deleted rows count as gone. */
export const readUserStatus: UserStatusLookup = async (em, userId) => {
  // A well-signed token's `sub` is still only a string: never let a non-UUID reach a uuid cast.
  if (!UUID.test(userId)) return null;
  const user = await em.findOne(User, { id: userId, deletedAt: null }, { fields: ['role'] });
  return user ? user.role : null;
};

/** Entries kept at most; past it the oldest-filled goes first (they expire first anyway). */
const MAX_ENTRIES = 50_000;

/**
 * Whether the user behind an access JWT still exists, and with which role, remembered per user for
 * USER_STATUS_CACHE_SECONDS (default 30). Access JWTs are stateless, so without this a deleted,
 * closed or demoted account kept its powers until the token expired (up to
 * JWT_ACCESS_TTL_SECONDS), and a deleted user's writes died on a foreign key as a 500.
 *
 * The trade-off is the TTL: a change reaches a replica that did not make it within the TTL, in
 * exchange for one primary-key read per active user per TTL instead of one per request (the
 * predict path counts microseconds here). Changes made in this process (`forget`, called by
 * promote/demote and account closure) apply at once. Like ApiKeyService's key cache there is no
 * cross-process invalidation: another replica, or the `npm run promote` CLI's own process, is
 * bounded by the TTL. 0 turns caching off (one read per JWT request).
 *
 * Negative answers are cached too, so a deleted user's token hammering the API costs no more
 * reads than a live one.
 */
export class UserStatusCache {
  private readonly entries = new Map<string, { role: Role | null; until: number }>();
  private readonly reads = new Map<string, Promise<Role | null>>();
  /** Bumped by `forget`: a read that started before it may hold the old answer, so is not kept. */
  private generation = 0;
  private readonly ttlMs: number;

  constructor(
    options: { ttlSeconds: number },
    private readonly lookup: UserStatusLookup = readUserStatus,
  ) {
    this.ttlMs = options.ttlSeconds * 1000;
  }

  /**
   * The cached answer (role, or `null`: no live account), or `undefined` when there is none or it
   * has expired. Synchronous and allocation-free: the hot path of every JWT request.
   */
  peek(userId: string, now = Date.now()): Role | null | undefined {
    const entry = this.entries.get(userId);
    if (entry === undefined) return undefined;
    if (entry.until > now) return entry.role;
    this.entries.delete(userId);
    return undefined;
  }

  /**
   * The user's current role, or `null` when there is no live account: the cached answer as a plain
   * value (no promise on the hot path), else a read (`em` is called only then).
   */
  roleOf(em: () => EntityManager, userId: string): Role | null | Promise<Role | null> {
    const cached = this.peek(userId);
    return cached === undefined ? this.read(em, userId) : cached;
  }

  /**
   * Reads the answer from the database and remembers it. Concurrent misses for one user share one
   * read; `em` (a fresh fork) is called only by the read that actually goes to the database.
   */
  read(em: () => EntityManager, userId: string): Promise<Role | null> {
    return shareInFlight(this.reads, userId, async () => {
      const generation = this.generation;
      const role = await this.lookup(em(), userId);
      if (this.ttlMs > 0 && generation === this.generation) this.remember(userId, role, Date.now() + this.ttlMs);
      return role;
    });
  }

  /**
   * Drops what this process knows about a user: call after changing their role or closing or
   * deleting their account (after the commit, so the next read sees the new row).
   */
  forget(userId: string): void {
    this.entries.delete(userId);
    // Callers from now on must not join a read that may have seen the old row. (That read's own
    // settling may then drop a newer read from the map: at worst one extra query.)
    this.reads.delete(userId);
    this.generation++;
  }

  private remember(userId: string, role: Role | null, until: number): void {
    this.entries.delete(userId); // re-inserted at the end: insertion order stays fill order
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(userId, { role, until });
  }
}
