import { defineEntity, p } from '@mikro-orm/core';
import { money, moneySum, uuidPrimaryKey } from './columns.js';
import { Invoice } from './invoice.entity.js';
import { ModelVersion } from './model-version.entity.js';
import { Model } from './model.entity.js';

/** One line per model version used in the period. */
const InvoiceLineSchema = defineEntity({
  name: 'InvoiceLine',
  tableName: 'invoice_lines',
  properties: {
    id: uuidPrimaryKey(),
    invoice: () => p.manyToOne(Invoice).index().deleteRule('cascade'),
    model: () => p.manyToOne(Model),
    version: () => p.manyToOne(ModelVersion),
    description: p.string().length(300),
    requests: p.bigint('number'),
    freeRequests: p.bigint('number'),
    billableRequests: p.bigint('number'),
    unitPrice: money(),
    amount: moneySum(),
  },
});

export class InvoiceLine extends InvoiceLineSchema.class {}
InvoiceLineSchema.setClass(InvoiceLine);
