import { defineEntity, p } from '@mikro-orm/core';
import { createdAt, currency, money, updatedAt, uuidPrimaryKey } from './columns.js';
import { ModelVersion } from './model-version.entity.js';
import { User } from './user.entity.js';

/**
 * Weighted full-text document, kept by PostgreSQL itself (a stored generated column, so no write
 * path can forget it): name (A) > tags (B) > description (C). Tags go through
 * `marketplace_tags_text`, an IMMUTABLE wrapper of `array_to_string` created by the initial
 * migration: generated columns accept only immutable functions, `array_to_string` is declared
 * STABLE, and `array_to_tsvector` would skip stemming ("detection" would miss "detect").
 */
export const MODEL_SEARCH_VECTOR_SQL =
  "setweight(to_tsvector('english', coalesce(name, '')), 'A') || " +
  "setweight(to_tsvector('english', marketplace_tags_text(tags)), 'B') || " +
  "setweight(to_tsvector('english', coalesce(description, '')), 'C')";

const ModelSchema = defineEntity({
  name: 'Model',
  tableName: 'models',
  properties: {
    id: uuidPrimaryKey(),
    owner: () => p.manyToOne(User).index(),
    slug: p.string().length(100).unique(),
    name: p.string().length(200),
    description: p.text().default(''),
    /** Lower-case tags; a GIN index serves `tags @> {…}` filters. */
    tags: p.array().default([]),
    /** What the model does, e.g. `image-classification` (free text, indexed for filters). */
    task: p.string().length(64).index(),
    framework: p.string().length(32).default('onnx').index(),
    license: p.string().length(64).default('proprietary'),
    pricePerRequest: money().default('0'),
    currency: currency(),
    freeRequestsPerMonth: p.integer().default(0),
    /** The publisher's bound on how long predictions' tensors are kept (shorter than the deployment's only); null: no bound. */
    dataRetentionHours: p.integer().nullable(),
    /**
     * When the current price and free allowance took effect: a prediction is billed at the
     * pricing in force when it was accepted, so a change applies to requests from this moment on.
     */
    pricingEffectiveFrom: p.datetime().onCreate(() => new Date()),
    defaultVersion: () => p.manyToOne(ModelVersion).nullable().deleteRule('set null'),
    /** Rating aggregates, updated in the same transaction as the review that changes them. */
    ratingCount: p.integer().default(0),
    ratingSum: p.integer().default(0),
    /** Succeeded predictions, all time (the POPULAR ordering and `predictionCount`). */
    predictionCount: p.bigint('number').default(0),
    searchVector: p
      .type('tsvector')
      .generated(`(${MODEL_SEARCH_VECTOR_SQL}) stored`)
      .lazy()
      .hidden()
      // Written by PostgreSQL alone. The no-op onCreate only marks it optional for `em.create`;
      // MikroORM leaves generated columns out of INSERT and UPDATE statements.
      .onCreate(() => undefined as unknown as string[]),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /** Soft delete: hidden from the catalog, still readable by its owner and still billed. */
    deletedAt: p.datetime().nullable(),
  },
  indexes: [
    { name: 'models_tags_gin', expression: 'create index "models_tags_gin" on "models" using gin ("tags")' },
    {
      name: 'models_search_vector_gin',
      expression: 'create index "models_search_vector_gin" on "models" using gin ("search_vector")',
    },
    { name: 'models_created_at_id_index', properties: ['createdAt', 'id'] },
    // Typo-tolerant search on names (pg_trgm's `<%` operator; see catalog/model-list.query.ts).
    {
      name: 'models_name_trgm',
      expression: 'create index "models_name_trgm" on "models" using gin ("name" gin_trgm_ops)',
    },
  ],
});

export class Model extends ModelSchema.class {
  /** Mean rating, or null while there are no reviews. */
  get ratingAverage(): number | null {
    return this.ratingCount > 0 ? this.ratingSum / this.ratingCount : null;
  }
}
ModelSchema.setClass(Model);
