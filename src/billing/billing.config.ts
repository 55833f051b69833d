import { z } from 'zod';
import { secret } from '../shared/config-secret.js';
import { isDecimal, toUnits } from './money.js';

/**
 * Billing's settings. src/config.ts spreads `BILLING_ENV` into its schema and calls
 * `billingConfigFrom`, so the environment is still parsed once, with one error format.
 * Without STRIPE_SECRET_KEY invoices are built and kept locally only (`sentToStripe: false`).
 */
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((v) => (v === undefined ? fallback : ['true', '1', 'yes'].includes(v)));

/** A positive amount that a money column (numeric(20,10)) can hold. */
const moneyLimit = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine(
      (v) => isDecimal(v) && toUnits(v) > 0n,
      'must be a positive decimal of at most 10 digits before the point and 10 after',
    );

export const BILLING_ENV = {
  STRIPE_SECRET_KEY: secret(z.string().min(1).optional()),
  /** `whsec_…`: verifies `POST /webhooks/stripe`; without it the route answers 503. */
  STRIPE_WEBHOOK_SECRET: secret(z.string().min(1).optional()),
  /** Point the SDK at another host (tests use a local fake); defaults are Stripe's own API. */
  STRIPE_API_HOST: z.string().min(1).optional(),
  STRIPE_API_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  STRIPE_API_PROTOCOL: z.enum(['http', 'https']).optional(),
  /** Days a consumer has to pay an invoice once it is finalised. */
  BILLING_DAYS_UNTIL_DUE: z.coerce.number().int().min(1).max(365).default(30),
  /** Refuse predictions (QUOTA_EXCEEDED) to consumers with an unpaid invoice past its due date. */
  BILLING_BLOCK_OVERDUE: flag(true),
  /** The platform's share of each prediction's price, in percent, as an exact decimal. */
  PLATFORM_FEE_PERCENT: z
    .string()
    .default('20')
    .refine((v) => isDecimal(v) && toUnits(v) >= 0n && toUnits(v) <= toUnits('100'), 'must be a decimal from 0 to 100'),
  /** The highest price per request a publisher may set (USD, exact decimal). */
  PRICE_PER_REQUEST_MAX: moneyLimit('1000'),
  /** The highest monthly spending cap a consumer may set (USD, exact decimal). */
  SPENDING_CAP_MAX: moneyLimit('1000000'),
  /**
   * How far a Stripe webhook's signed timestamp may be from now, either way, in seconds. The
   * SDK only refuses old ones; one signed far in the future would be replayable for that long.
   */
  STRIPE_WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().min(1).max(3600).default(300),
  /** Close each month by itself in job-running processes (off: an admin runs closeBillingPeriod). */
  BILLING_AUTO_CLOSE: flag(true),
  /** Minutes after a month ends before its scheduled close (usage of jobs still running lands). */
  BILLING_CLOSE_DELAY_MINUTES: z.coerce.number().int().min(0).max(10_080).default(60),
  /** How often the schedule checks; each check also retries consumers a close could not invoice. */
  BILLING_CLOSE_CHECK_MINUTES: z.coerce.number().int().min(1).max(1440).default(15),
};

export type BillingSettings = {
  billing: {
    stripe?: { secretKey: string; host?: string; port?: number; protocol?: 'http' | 'https' };
    stripeWebhookSecret?: string;
    daysUntilDue: number;
    blockOverdue: boolean;
    /** Exact decimal string, e.g. "20" or "12.5". */
    platformFeePercent: string;
    /** Exact decimal strings: the bounds on what publishers and consumers may set. */
    maxPricePerRequest: string;
    maxSpendingCap: string;
    stripeWebhookToleranceSeconds: number;
    autoClose: { enabled: boolean; delayMs: number; checkMs: number };
  };
};

const billingEnvSchema = z.object(BILLING_ENV);
type BillingEnv = z.output<typeof billingEnvSchema>;

export function billingConfigFrom(e: BillingEnv): BillingSettings {
  return {
    billing: {
      stripe: e.STRIPE_SECRET_KEY
        ? {
            secretKey: e.STRIPE_SECRET_KEY,
            host: e.STRIPE_API_HOST,
            port: e.STRIPE_API_PORT,
            protocol: e.STRIPE_API_PROTOCOL,
          }
        : undefined,
      stripeWebhookSecret: e.STRIPE_WEBHOOK_SECRET,
      daysUntilDue: e.BILLING_DAYS_UNTIL_DUE,
      blockOverdue: e.BILLING_BLOCK_OVERDUE,
      platformFeePercent: e.PLATFORM_FEE_PERCENT,
      maxPricePerRequest: e.PRICE_PER_REQUEST_MAX,
      maxSpendingCap: e.SPENDING_CAP_MAX,
      stripeWebhookToleranceSeconds: e.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
      autoClose: {
        enabled: e.BILLING_AUTO_CLOSE,
        delayMs: e.BILLING_CLOSE_DELAY_MINUTES * 60_000,
        checkMs: e.BILLING_CLOSE_CHECK_MINUTES * 60_000,
      },
    },
  };
}

/** The settings with the Stripe secrets masked, for start-up logs. */
export function redactBillingSettings(s: BillingSettings): BillingSettings {
  const { stripe } = s.billing;
  return {
    billing: {
      ...s.billing,
      stripe: stripe ? { ...stripe, secretKey: '***' } : undefined,
      stripeWebhookSecret: s.billing.stripeWebhookSecret ? '***' : undefined,
    },
  };
}

/** Defaults, for code that builds services without a full config (schema emission, unit tests). */
export function defaultBillingSettings(): BillingSettings {
  return billingConfigFrom(billingEnvSchema.parse({}));
}
