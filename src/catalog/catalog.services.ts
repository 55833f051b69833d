import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config.js';
import type { Logger } from '../shared/logger.js';
import type { ModelStorage } from '../storage/model-storage.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import type { CatalogGeneration } from './catalog-generation.js';
import type { ModelValidator } from './model-validator.js';
import { ModelWriteService } from './model-write.service.js';
import { ModelService } from './model.service.js';
import { ReviewService } from './review.service.js';
import { VersionValidation } from './version-validation.js';
import { VersionService } from './version.service.js';

/**
 * The catalog's services, wired once: models (reads and writes), versions with their validation
 * pipeline, and reviews. Every write bumps the one catalog generation, which empties the caches
 * that read the catalog (the GraphQL response cache, predict's version cache).
 */
export function createCatalogServices(
  config: Pick<Config, 'maxPageSize' | 'uploadMaxBytes' | 'inference' | 'billing' | 'mail'>,
  parts: {
    fork: () => EntityManager;
    storage: ModelStorage;
    validator: ModelValidator;
    events: EventBus;
    generation: CatalogGeneration;
    logger: Logger;
    /** Called after a version became READY (committed and published). */
    onReady?: (versionId: string) => void;
  },
) {
  const publishing = { requireVerifiedEmail: config.mail.verificationRequired };
  const modelWrites = new ModelWriteService(
    parts.generation,
    { maxPricePerRequest: config.billing.maxPricePerRequest },
    publishing,
  );
  const validation = new VersionValidation({
    fork: parts.fork,
    storage: parts.storage,
    validator: parts.validator,
    events: parts.events,
    logger: parts.logger,
    generation: parts.generation,
    onReady: parts.onReady,
  });
  return {
    models: new ModelService({ maxPageSize: config.maxPageSize }),
    modelWrites,
    versionValidation: validation,
    versions: new VersionService(
      {
        storage: parts.storage,
        events: parts.events,
        logger: parts.logger,
        uploadMaxBytes: config.uploadMaxBytes,
        requireVerifiedEmail: publishing.requireVerifiedEmail,
        validationsPerUser: config.inference.admission.perUser,
      },
      modelWrites,
      validation,
      parts.generation,
    ),
    reviews: new ReviewService(parts.generation),
  };
}

export type CatalogServices = ReturnType<typeof createCatalogServices>;
