import { defineEntity, p } from '@mikro-orm/core';
import { moneySum } from './columns.js';
import { User } from './user.entity.js';

/**
 * A consumer's money for one UTC month, the one row their spending cap is checked against:
 * `spent` (what metered predictions cost) and `reserved` (what queued jobs accepted under the cap
 * hold until they end). Every metering statement adds to `spent`; accepting a capped job adds its
 * price to `reserved` with a conditional update of this row, and the job's end takes it off. One
 * row per consumer and month means the check `spent + reserved + price <= cap` and the change
 * that follows it happen under one row lock (src/billing/spend-cap.sql.ts).
 */
const MonthlySpendSchema = defineEntity({
  name: 'MonthlySpend',
  tableName: 'monthly_spend',
  properties: {
    user: () => p.manyToOne(User).primary(),
    /** First day (UTC) of the calendar month. */
    periodStart: p.date().primary(),
    spent: moneySum().default('0'),
    reserved: moneySum().default('0'),
  },
});

export class MonthlySpend extends MonthlySpendSchema.class {}
MonthlySpendSchema.setClass(MonthlySpend);
