import type { Logger } from '../shared/logger.js';
import { AnalyticsService } from './analytics.service.js';
import { defaultBillingSettings, type BillingSettings } from './billing.config.js';
import { EarningsService } from './earnings.service.js';
import { InvoiceService } from './invoice.service.js';
import { MeteringService } from './metering.service.js';
import { createStripeClient } from './stripe/stripe-client.js';
import { StripePaymentsService } from './stripe/stripe-payments.service.js';
import { StripeWebhookService } from './stripe/stripe-webhook.service.js';
import { SpendingCapService } from './spending-cap.service.js';
import { UsageService } from './usage.service.js';

/**
 * Billing's services, wired from the config. The payments seam is chosen here, once: Stripe when
 * STRIPE_SECRET_KEY is set, otherwise none (invoices stay local, `sentToStripe: false`).
 */
export function createBillingServices(
  config: Partial<BillingSettings> & { maxPageSize: number; mail?: { verificationRequired: boolean } },
  options: { logger?: Logger } = {},
) {
  const settings = config.billing ?? defaultBillingSettings().billing;
  const stripe = settings.stripe ? createStripeClient(settings.stripe) : undefined;
  return {
    metering: new MeteringService({
      blockOverdue: settings.blockOverdue,
      maxPricePerRequest: settings.maxPricePerRequest,
      requireVerifiedEmail: config.mail?.verificationRequired ?? false,
    }),
    usage: new UsageService(),
    spendingCaps: new SpendingCapService({ maxSpendingCap: settings.maxSpendingCap, maxPageSize: config.maxPageSize }),
    earnings: new EarningsService({ platformFeePercent: settings.platformFeePercent }),
    analytics: new AnalyticsService(),
    invoices: new InvoiceService({
      daysUntilDue: settings.daysUntilDue,
      maxPageSize: config.maxPageSize,
      payments: stripe ? new StripePaymentsService(stripe, { daysUntilDue: settings.daysUntilDue }) : undefined,
      logger: options.logger,
    }),
    /** Present when both the API key and the webhook signing secret are configured. */
    stripeWebhooks:
      stripe && settings.stripeWebhookSecret
        ? {
            service: new StripeWebhookService(stripe, settings.stripeWebhookToleranceSeconds),
            secret: settings.stripeWebhookSecret,
          }
        : undefined,
  };
}

export type BillingServices = ReturnType<typeof createBillingServices>;
