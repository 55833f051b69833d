import { defineEntity, p } from '@mikro-orm/core';
import { createdAt, currency, money, uuidPrimaryKey } from './columns.js';
import { Invoice } from './invoice.entity.js';
import { ModelVersion } from './model-version.entity.js';
import { Model } from './model.entity.js';
import { Prediction } from './prediction.entity.js';
import { User } from './user.entity.js';

/**
 * One per succeeded prediction — the unique key on `prediction` is what makes a retried job
 * unable to bill twice. Written in the same transaction as the prediction's final status.
 */
const UsageRecordSchema = defineEntity({
  name: 'UsageRecord',
  tableName: 'usage_records',
  properties: {
    id: uuidPrimaryKey(),
    prediction: () => p.oneToOne(Prediction).owner().unique(),
    /** The consumer billed. */
    user: () => p.manyToOne(User),
    /** The model's owner when it ran, who earns from it. */
    publisher: () => p.manyToOne(User),
    model: () => p.manyToOne(Model).index(),
    version: () => p.manyToOne(ModelVersion),
    occurredAt: p.datetime(),
    /** First day (UTC) of the calendar month the usage belongs to. */
    periodStart: p.date(),
    /** Counted against the consumer's free requests for this model and month. */
    free: p.boolean(),
    unitPrice: money(),
    amount: money(),
    currency: currency(),
    /** Set when an invoice has taken this record; late usage for a closed period stays null. */
    invoice: () => p.manyToOne(Invoice).nullable().index(),
    createdAt: createdAt(),
  },
  indexes: [
    { name: 'usage_records_user_period_index', properties: ['user', 'periodStart'] },
    { name: 'usage_records_publisher_occurred_at_index', properties: ['publisher', 'occurredAt'] },
    { name: 'usage_records_user_occurred_at_index', properties: ['user', 'occurredAt'] },
  ],
});

export class UsageRecord extends UsageRecordSchema.class {}
UsageRecordSchema.setClass(UsageRecord);
