import { createAuthServices } from './auth/auth.services.js';
import { createBillingServices } from './billing/billing.services.js';
import { UsageNotifier } from './billing/usage-notifier.js';
import { CatalogGeneration } from './catalog/catalog-generation.js';
import { createCatalogServices } from './catalog/catalog.services.js';
import type { Config } from './config.js';
import type { Infrastructure } from './composition/infrastructure.js';
import { createPredictionServices } from './predictions/prediction.services.js';
import type { Logger } from './shared/logger.js';
import { createWebhookServices } from './webhooks/webhook.services.js';
import { createMailServices } from './mail/mail.services.js';
import { createUsageAlertServices } from './billing/usage-alert.services.js';

/**
 * Every service, wired once from the config over the infrastructure (plain factories, one per
 * room: no container). Each is built exactly once, so what they share — metering's in-flight
 * quota reads, the catalog generation, the webhook allow-list — is shared for real.
 */
export function createServices(config: Config, infra: Infrastructure, logger: Logger) {
  const fork = () => infra.db.orm.em.fork();
  // Bumped by every committed catalog write; the GraphQL response cache and predict's version
  // cache drop what they read before it. Other replicas' bumps arrive through Redis (app.ts).
  const catalogGeneration = new CatalogGeneration({ key: `${config.pubSubPrefix}catalog:generation` });
  const billing = createBillingServices(config, { logger });
  const mail = createMailServices(config, { fork, logger });
  const usageNotifier = new UsageNotifier(infra.events, 250, (err) =>
    logger.warn({ err }, 'usageUpdated publish failed'),
  );
  const webhooks = createWebhookServices(config, { fork, queue: infra.queues.webhooks, logger });
  const usageAlerts = createUsageAlertServices(config, {
    fork,
    events: infra.events,
    outbox: mail.outbox,
    webhooks,
    logger,
  });
  const predictions = createPredictionServices(config, {
    fork,
    engine: infra.inference,
    storage: infra.storage,
    events: infra.events,
    queue: infra.queues.predictions,
    batchQueue: infra.queues.batches,
    metering: billing.metering,
    generation: catalogGeneration,
    webhooks,
    logger,
    onMetered: (userId) => {
      usageNotifier.notify(userId);
      usageAlerts.evaluator.notify(userId);
    },
  });
  const catalog = createCatalogServices(config, {
    fork,
    storage: infra.storage,
    validator: infra.validator,
    events: infra.events,
    generation: catalogGeneration,
    logger,
    onReady: predictions.warmWhenReady,
  });
  return {
    catalogGeneration,
    auth: createAuthServices(config, { outbox: mail.outbox, storage: infra.storage, logger }),
    mail,
    ...catalog,
    predictions: predictions.predictions,
    predictionJobs: predictions.predictionJobs,
    predictionRunner: predictions.predictionRunner,
    batchPredictions: predictions.batches,
    batchRunner: predictions.batchRunner,
    webhookSecrets: webhooks.secrets,
    webhookDispatcher: webhooks.dispatcher,
    // Metering, usage, invoices, earnings, analytics, Stripe (src/billing/billing.services.ts).
    billing,
    usageNotifier,
    usageAlerts,
  };
}

export type Services = ReturnType<typeof createServices>;
