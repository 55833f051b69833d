import { defineEntity, p } from '@mikro-orm/core';
import { User } from './user.entity.js';

/**
 * A consumer whose invoice for a period could not be built or sent by `closeBillingPeriod`. The
 * close goes on with everyone else; this row says who is missing and why, and the next close
 * retries them (it is deleted once their invoice is built and, with Stripe, sent).
 */
const BillingFailureSchema = defineEntity({
  name: 'BillingFailure',
  tableName: 'billing_failures',
  properties: {
    user: () => p.manyToOne(User).primary(),
    /** First day (UTC) of the month being closed. */
    periodStart: p.date().primary(),
    /** `BUILD` (the invoice could not be made) or `SEND` (the payments provider refused it). */
    stage: p.string().length(16),
    /** A stable code for the cause, e.g. INTERNAL or STRIPE_ERROR. */
    code: p.string().length(64),
    /** What went wrong, for the admin (never shown to the consumer). */
    message: p.text(),
    attempts: p.integer().default(1),
    firstFailedAt: p.datetime(),
    lastFailedAt: p.datetime(),
  },
});

export class BillingFailure extends BillingFailureSchema.class {}
BillingFailureSchema.setClass(BillingFailure);
