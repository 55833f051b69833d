import { defineEntity, p } from '@mikro-orm/core';
import { money, moneySum, uuidPrimaryKey } from './columns.js';
import { UsageAlert } from './usage-alert.entity.js';

/** One alert's crossing in one month: the unique key is what makes it fire once, whichever process sees it. */
const UsageAlertFiringSchema = defineEntity({
  name: 'UsageAlertFiring',
  tableName: 'usage_alert_firings',
  properties: {
    id: uuidPrimaryKey(),
    alert: () => p.manyToOne(UsageAlert).deleteRule('cascade'),
    periodStart: p.date(),
    /** The threshold as an amount when it fired, and the spend that crossed it. */
    threshold: money(),
    spent: moneySum(),
    firedAt: p.datetime(),
  },
  uniques: [{ name: 'usage_alert_firings_alert_period_unique', properties: ['alert', 'periodStart'] }],
});

export class UsageAlertFiring extends UsageAlertFiringSchema.class {}
UsageAlertFiringSchema.setClass(UsageAlertFiring);
