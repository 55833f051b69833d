import { defineEntity, p } from '@mikro-orm/core';

/**
 * Stripe webhook events already handled, keyed by Stripe's event id: Stripe delivers at least
 * once, so a redelivered event finds its row and changes nothing. Written in the same
 * transaction as the change the event caused.
 */
const StripeEventSchema = defineEntity({
  name: 'StripeEvent',
  tableName: 'stripe_events',
  properties: {
    /** Stripe's id, e.g. `evt_1N…`. */
    id: p.string().length(255).primary(),
    type: p.string().length(100),
    /** The event's own `created` time (when Stripe made it, not when it arrived). */
    eventCreatedAt: p.datetime(),
    processedAt: p.datetime().onCreate(() => new Date()),
  },
});

export class StripeEvent extends StripeEventSchema.class {}
StripeEventSchema.setClass(StripeEvent);
