import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { Logger } from '../shared/logger.js';
import { WebhookDispatcher, type WebhookJob } from './webhook-dispatcher.js';
import { WebhookSecretService, webhookSecretOf } from './webhook-secret.service.js';
import { WebhookAllowList } from './webhook-target.js';

/**
 * Webhooks' services, wired once: the SSRF allow-list (shared by the check at createPrediction
 * and the one at delivery, so both follow one WEBHOOK_ALLOWED_HOSTS), the dispatcher on its queue,
 * and the signing secrets users read and rotate.
 */
export function createWebhookServices(
  config: Pick<Config, 'webhooks'>,
  parts: { fork: () => EntityManager; queue: JobQueue<WebhookJob>; logger: Logger },
) {
  const allowList = new WebhookAllowList(config.webhooks.allowedHosts);
  return {
    allowList,
    secrets: new WebhookSecretService(),
    dispatcher: new WebhookDispatcher({
      queue: parts.queue,
      secretFor: (userId) => webhookSecretOf(parts.fork(), userId),
      allow: allowList,
      logger: parts.logger.child({ component: 'webhooks' }),
      timeoutMs: config.webhooks.timeoutMs,
      attempts: config.webhooks.attempts,
      backoffMs: config.webhooks.backoffMs,
      concurrency: 16,
    }),
  };
}

export type WebhookServices = ReturnType<typeof createWebhookServices>;
