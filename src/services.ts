import type { Config } from './config.js';
import { createAuthServices } from './auth/auth.services.js';
import { createBillingServices } from './billing/billing.services.js';
import { defaultBillingSettings } from './billing/billing.config.js';
import { ModelService } from './catalog/model.service.js';
import { ModelWriteService } from './catalog/model-write.service.js';
import { schemaOnlyDeps, type PublishingDeps } from './catalog/publishing.deps.js';
import { VersionService } from './catalog/version.service.js';
import { ReviewService } from './catalog/review.service.js';
import { schemaOnlyJobDeps, schemaOnlyPredictionDeps } from './predictions/prediction.deps.js';
import { PredictionService, type PredictionDeps } from './predictions/prediction.service.js';
import { AsyncPredictionService, type AsyncPredictionDeps } from './predictions/async-prediction.service.js';
import { WebhookSecretService } from './webhooks/webhook-secret.service.js';
import { CatalogGeneration } from './catalog/catalog-generation.js';

/** Every service, wired once from the config (plain factories: no container). */
export function createServices(
  config: Pick<Config, 'maxPageSize'> & Partial<Pick<Config, 'auth' | 'dataDir' | 'env' | 'billing' | 'pubSubPrefix'>>,
  // Storage, validator, pub/sub and the ORM for publishing; stand-ins when only emitting the schema.
  publishing: PublishingDeps = schemaOnlyDeps(),
  // Inference pool, storage and metering for predictions; stand-ins when only emitting the schema.
  predictionDeps: PredictionDeps = schemaOnlyPredictionDeps(),
  // Queue, pool, metering and events for queued predictions; stand-ins when only emitting the schema.
  jobDeps: AsyncPredictionDeps = schemaOnlyJobDeps(),
) {
  // Bumped by every committed catalog write; the GraphQL response cache and predict's version
  // cache drop what they read before it.
  const catalogGeneration = new CatalogGeneration({ key: `${config.pubSubPrefix ?? 'mm:'}catalog:generation` });
  const modelWrites = new ModelWriteService(catalogGeneration, {
    maxPricePerRequest: config.billing?.maxPricePerRequest ?? defaultBillingSettings().billing.maxPricePerRequest,
  });
  const predictions = new PredictionService(predictionDeps, catalogGeneration);
  return {
    catalogGeneration,
    auth: createAuthServices(config),
    models: new ModelService({ maxPageSize: config.maxPageSize }),
    modelWrites,
    versions: new VersionService(publishing, modelWrites, catalogGeneration),
    reviews: new ReviewService(catalogGeneration),
    events: publishing.events,
    predictions,
    jobs: new AsyncPredictionService(jobDeps, predictions.versions),
    webhookSecrets: new WebhookSecretService(),
    // Metering, usage, invoices, earnings, analytics, Stripe (src/billing/billing.services.ts).
    billing: createBillingServices(config, { logger: publishing.logger }),
  };
}

export type Services = ReturnType<typeof createServices>;
