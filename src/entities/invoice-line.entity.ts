import { defineEntity, p } from '@mikro-orm/core';
import { money, uuidPrimaryKey } from './columns.js';
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
    requests: p.integer(),
    freeRequests: p.integer(),
    billableRequests: p.integer(),
    unitPrice: money(),
    amount: money(),
  },
});

export class InvoiceLine extends InvoiceLineSchema.class {}
InvoiceLineSchema.setClass(InvoiceLine);
