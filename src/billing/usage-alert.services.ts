import type { EntityManager } from '@mikro-orm/postgresql';
import type { MailOutbox } from '../mail/mail-outbox.js';
import type { Logger } from '../shared/logger.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import { resolveWebhookTarget } from '../webhooks/webhook-target.js';
import type { WebhookServices } from '../webhooks/webhook.services.js';
import type { BillingSettings } from './billing.config.js';
import { UsageAlertEvaluator } from './usage-alert-evaluator.js';
import { UsageAlertService } from './usage-alert.service.js';

/** Usage alerts, wired once: the API side and the evaluator that metering's commits drive. */
export function createUsageAlertServices(
  config: BillingSettings,
  parts: {
    fork: () => EntityManager;
    events: EventBus;
    outbox: MailOutbox;
    webhooks: Pick<WebhookServices, 'allowList' | 'dispatcher'>;
    logger: Logger;
  },
) {
  return {
    alerts: new UsageAlertService({
      maxAmount: config.billing.maxSpendingCap,
      events: parts.events,
      checkWebhookUrl: async (url) => {
        await resolveWebhookTarget(url, parts.webhooks.allowList);
      },
    }),
    evaluator: new UsageAlertEvaluator({
      fork: parts.fork,
      events: parts.events,
      outbox: parts.outbox,
      webhook: async (userId, url, type, eventId, data) => {
        await parts.webhooks.dispatcher.dispatch(
          userId,
          url,
          { type, timestamp: new Date().toISOString(), data },
          eventId,
        );
      },
      logger: parts.logger.child({ component: 'usage-alerts' }),
      windowMs: 250,
    }),
  };
}
