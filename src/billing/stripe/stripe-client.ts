import Stripe from 'stripe';
import type { BillingSettings } from '../billing.config.js';

/**
 * The one place a Stripe client is made. `host`/`port`/`protocol` let config point the official
 * SDK at any server (tests: test/support/fake-stripe.ts). The SDK retries network errors and 5xx
 * answers itself, reusing the request's Idempotency-Key, so a retry cannot create twice
 * (https://docs.stripe.com/api/idempotent_requests).
 */
export function createStripeClient(stripe: NonNullable<BillingSettings['billing']['stripe']>): Stripe {
  return new Stripe(stripe.secretKey, {
    maxNetworkRetries: 2,
    timeout: 20_000,
    ...(stripe.host ? { host: stripe.host } : {}),
    ...(stripe.port ? { port: stripe.port } : {}),
    ...(stripe.protocol ? { protocol: stripe.protocol } : {}),
    appInfo: { name: 'model-marketplace' },
  });
}
