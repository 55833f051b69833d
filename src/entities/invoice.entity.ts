import { defineEntity, p } from '@mikro-orm/core';
import { createdAt, currency, moneySum, updatedAt, uuidPrimaryKey } from './columns.js';
import { InvoiceStatus } from './enums.js';
import { User } from './user.entity.js';

const InvoiceSchema = defineEntity({
  name: 'Invoice',
  tableName: 'invoices',
  properties: {
    id: uuidPrimaryKey(),
    user: () => p.manyToOne(User),
    /** Sequential, gap-free number assigned when the invoice is built. */
    number: p.integer().unique(),
    periodStart: p.date(),
    periodEnd: p.date(),
    status: p.enum(() => InvoiceStatus).default(InvoiceStatus.DRAFT),
    subtotal: moneySum(),
    total: moneySum(),
    currency: currency(),
    stripeInvoiceId: p.string().length(255).nullable().unique(),
    hostedInvoiceUrl: p.text().nullable(),
    /** False while Stripe is not configured: the invoice exists locally but was not sent. */
    sentToStripe: p.boolean().default(false),
    finalizedAt: p.datetime().nullable(),
    dueAt: p.datetime().nullable(),
    paidAt: p.datetime().nullable(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  uniques: [{ name: 'invoices_user_period_unique', properties: ['user', 'periodStart'] }],
});

export class Invoice extends InvoiceSchema.class {}
InvoiceSchema.setClass(Invoice);
