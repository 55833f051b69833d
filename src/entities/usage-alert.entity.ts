import { defineEntity, p } from '@mikro-orm/core';
import { createdAt, currency, money, uuidPrimaryKey } from './columns.js';
import { User } from './user.entity.js';

/**
 * A consumer's spend threshold for the calendar month (UTC): a share of their spending cap, or an
 * amount. Each crossing fires once per month (usage_alert_firings): a `usageAlert` event, a mail,
 * and a signed webhook when `webhookUrl` is set.
 */
const UsageAlertSchema = defineEntity({
  name: 'UsageAlert',
  tableName: 'usage_alerts',
  properties: {
    id: uuidPrimaryKey(),
    user: () => p.manyToOne(User).index().deleteRule('cascade'),
    /** 1…100: fires when the month's spend reaches this share of the cap (never without a cap). */
    percentOfCap: p.integer().nullable(),
    /** Fires when the month's spend reaches this amount. */
    amount: money().nullable(),
    currency: currency(),
    webhookUrl: p.string().length(2048).nullable(),
    createdAt: createdAt(),
  },
});

export class UsageAlert extends UsageAlertSchema.class {}
UsageAlertSchema.setClass(UsageAlert);
