import { defineEntity, p } from '@mikro-orm/core';
import { moneySum } from './columns.js';
import { Model } from './model.entity.js';
import { User } from './user.entity.js';

/**
 * Requests metered per consumer, model and UTC month. Metering increments it with one
 * `insert … on conflict do update … returning` (src/billing/metering.service.ts): the upsert takes
 * the row's lock until the metering transaction ends, so concurrent predictions by one consumer
 * are numbered 1, 2, 3… without gaps or repeats, and the first `freeRequestsPerMonth` of them are
 * the free ones. A rolled-back transaction rolls its increment back with it.
 */
const UsageCounterSchema = defineEntity({
  name: 'UsageCounter',
  tableName: 'usage_counters',
  properties: {
    user: () => p.manyToOne(User).primary(),
    model: () => p.manyToOne(Model).primary(),
    /** First day (UTC) of the calendar month. */
    periodStart: p.date().primary(),
    /** A bigint: a counter that can only grow must not be able to overflow. */
    requests: p.bigint('number').default(0),
    /** What those requests cost (free ones count 0). */
    amount: moneySum().default('0'),
  },
});

export class UsageCounter extends UsageCounterSchema.class {}
UsageCounterSchema.setClass(UsageCounter);
