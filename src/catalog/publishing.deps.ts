import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../shared/logger.js';
import type { ModelStorage } from '../storage/model-storage.js';
import { createEventBus, type EventBus } from '../subscriptions/event-bus.js';
import type { ModelValidator } from './model-validator.js';

/** What the publishing services need beyond a request's `ctx`, wired once in app.ts. */
export type PublishingDeps = {
  /** For background work (validation), which outlives the request: it forks its own EntityManager. */
  orm: MikroORM;
  storage: ModelStorage;
  validator: ModelValidator;
  events: EventBus;
  logger: Logger;
  uploadMaxBytes: number;
  /** Versions a publisher may have PROCESSING at once (INFERENCE_VALIDATIONS_PER_USER); absent: no bound. */
  validationsPerUser?: number;
  /** Called after a version became READY (committed and published): the app warms it up. */
  onReady?: (versionId: string) => void;
};

/**
 * Stand-ins for `npm run schema`, which builds the schema without a database: any use throws,
 * so a mis-wired process fails loudly instead of half-working (the in-memory event bus only
 * gives type-graphql the `pubSub` it insists on).
 */
export function schemaOnlyDeps(): PublishingDeps {
  const fail = (): never => {
    throw new Error('publishing services are not wired (schema emission only)');
  };
  const trap = new Proxy({}, { get: fail });
  return {
    orm: trap as PublishingDeps['orm'],
    storage: trap as PublishingDeps['storage'],
    validator: trap as PublishingDeps['validator'],
    events: createEventBus({ prefix: 'schema-only:' }),
    logger: trap as PublishingDeps['logger'],
    uploadMaxBytes: 0,
  };
}
