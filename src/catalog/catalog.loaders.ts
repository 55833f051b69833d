import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ModelVersionStatus, Role } from '../entities/enums.js';
import { ModelVersion } from '../entities/model-version.entity.js';
import { Model } from '../entities/model.entity.js';
import { Review } from '../entities/review.entity.js';
import { User } from '../entities/user.entity.js';
import type { Caller } from '../shared/caller.js';
import type { Page } from '../shared/pagination.js';
import { childrenPages, type ChildListSpec } from './children-page.query.js';
import { sql } from './sql.js';

export type ReviewOrderName = 'NEWEST' | 'MOST_HELPFUL' | 'HIGHEST_RATING' | 'LOWEST_RATING';

type ChildKey = { parentId: string; limit: number; after: string | null };
type VersionKey = ChildKey & { includeUnpublished: boolean };
type ReviewKey = ChildKey & { order: ReviewOrderName };

const PUBLISHED_STATUSES = [ModelVersionStatus.READY, ModelVersionStatus.DEPRECATED];

const versionSpec = (includeUnpublished: boolean): ChildListSpec => ({
  entity: ModelVersion,
  table: 'model_versions',
  parentColumn: 'model_id',
  visible: includeUnpublished ? sql('true') : sql('s.status in (?, ?)', ...PUBLISHED_STATUSES),
  // Versions must increase (semver) as they are uploaded, so upload order is version order.
  orderColumns: [
    { column: 'created_at', cast: 'timestamptz' },
    { column: 'id', cast: 'uuid' },
  ],
  direction: 'desc',
  cursorKind: 'versions',
});

const reviewOrderColumns: Record<ReviewOrderName, { column: string; cast: string }[]> = {
  NEWEST: [{ column: 'created_at', cast: 'timestamptz' }],
  MOST_HELPFUL: [
    { column: 'helpful_count', cast: 'int' },
    { column: 'created_at', cast: 'timestamptz' },
  ],
  HIGHEST_RATING: [
    { column: 'rating', cast: 'smallint' },
    { column: 'created_at', cast: 'timestamptz' },
  ],
  LOWEST_RATING: [
    { column: 'rating', cast: 'smallint' },
    { column: 'created_at', cast: 'timestamptz' },
  ],
};

const reviewSpec = (order: ReviewOrderName): ChildListSpec => ({
  entity: Review,
  table: 'reviews',
  parentColumn: 'model_id',
  visible: sql('s.hidden = false'),
  orderColumns: [...reviewOrderColumns[order], { column: 'id', cast: 'uuid' }],
  direction: order === 'LOWEST_RATING' ? 'asc' : 'desc',
  cursorKind: `reviews:${order}`,
});

/** Loads entities by id in one `IN (…)` query per tick, in key order, null where missing. */
function byId<T extends { id: string }>(em: EntityManager, entity: new (...args: never[]) => T) {
  return new DataLoader<string, T | null>(async (ids) => {
    const found = (await em.find(entity as never, { id: { $in: [...ids] } } as never)) as T[];
    const map = new Map(found.map((e) => [e.id, e]));
    return ids.map((id) => map.get(id) ?? null);
  });
}

/**
 * Groups keys that share list arguments (usually all of them: one page asks every model for
 * the same `first`) and runs one windowed query per group.
 */
function childLoader<K extends ChildKey, T extends object>(
  em: EntityManager,
  specOf: (key: K) => ChildListSpec,
  groupOf: (key: K) => string,
) {
  return new DataLoader<K, Page<T>, string>(
    async (keys) => {
      const groups = new Map<string, K[]>();
      for (const key of keys) groups.set(groupOf(key), [...(groups.get(groupOf(key)) ?? []), key]);
      const results = new Map<K, Page<T>>();
      for (const group of groups.values()) {
        const first = group[0];
        const pages = await childrenPages<T>(
          em,
          specOf(first),
          [...new Set(group.map((k) => k.parentId))],
          first.limit,
          first.after,
        );
        for (const key of group) results.set(key, pages.get(key.parentId)!);
      }
      return keys.map((k) => results.get(k)!);
    },
    { cacheKeyFn: (k) => `${groupOf(k)}|${k.parentId}` },
  );
}

/**
 * Request-scoped loaders: created per HTTP request / WebSocket operation and never shared, so
 * one caller's visibility never leaks into another's results.
 */
export function createLoaders(em: EntityManager, caller: Caller) {
  return {
    user: byId(em, User),
    model: byId(em, Model),
    version: byId(em, ModelVersion),
    versionsOfModel: childLoader<VersionKey, ModelVersion>(
      em,
      (k) => versionSpec(k.includeUnpublished),
      (k) => `${k.includeUnpublished}|${k.limit}|${k.after ?? ''}`,
    ),
    reviewsOfModel: childLoader<ReviewKey, Review>(
      em,
      (k) => reviewSpec(k.order),
      (k) => `${k.order}|${k.limit}|${k.after ?? ''}`,
    ),
    /** Owners and admins also see a model's PROCESSING and FAILED versions. */
    canSeeUnpublished(model: Model): boolean {
      return caller.kind === 'user' && (caller.role === Role.ADMIN || caller.userId === model.owner.id);
    },
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
