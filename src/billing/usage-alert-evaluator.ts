import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { MAIL_TEMPLATES } from '../mail/mail-templates.js';
import type { MailOutbox } from '../mail/mail-outbox.js';
import type { Logger } from '../shared/logger.js';
import { PerKeyCoalescer } from '../shared/per-key-coalescer.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import type { UsageAlertEventPayload } from '../subscriptions/topics.js';
import { periodStartOf } from './billing-period.js';
import { compareMoney, formatMoney, percentOf } from './money.js';

type AlertRow = {
  id: string;
  percent_of_cap: number | null;
  amount: string | null;
  currency: string;
  webhook_url: string | null;
};

export type UsageAlertDeps = {
  fork: () => EntityManager;
  events: Pick<EventBus, 'publish'>;
  outbox: MailOutbox;
  /** Sends a signed webhook (Standard Webhooks) at most once per event id. */
  webhook: (userId: string, url: string, type: string, eventId: string, data: Record<string, unknown>) => Promise<void>;
  logger: Pick<Logger, 'warn'>;
  /** A consumer's alerts are checked at most this often per process (trailing, like usageUpdated). */
  windowMs: number;
};

/**
 * Fires a consumer's usage alerts as their month's spend crosses them. Called after every commit
 * that metered a prediction (either path, any process); coalesced per consumer, so a burst costs
 * a few reads a second. A crossing is one insert into usage_alert_firings keyed by (alert, month):
 * whichever process inserts it sends the alert — the mail in the same transaction (outbox), the
 * event and the webhook (deterministic event id, so a retry is the same delivery) after it — and
 * every other process, or a later check, finds it already there.
 */
export class UsageAlertEvaluator {
  private readonly coalescer: PerKeyCoalescer;

  constructor(private readonly deps: UsageAlertDeps) {
    this.coalescer = new PerKeyCoalescer(
      deps.windowMs,
      (userId) => this.check(userId),
      (err, userId) => deps.logger.warn({ err, userId }, 'usage alerts could not be checked'),
    );
  }

  notify(userId: string): void {
    this.coalescer.notify(userId);
  }

  /** Checks what is pending now (shutdown). */
  flush(): Promise<void> {
    return this.coalescer.flush();
  }

  /** Fires every alert of `userId` that this month's spend has crossed and that has not fired yet. */
  async check(userId: string, now = new Date()): Promise<UsageAlertEventPayload[]> {
    const em = this.deps.fork();
    const period = periodStartOf(now);
    const alerts = await em.execute<AlertRow[]>(
      `select a.id, a.percent_of_cap, a.amount::text as amount, a.currency, a.webhook_url
       from usage_alerts a where a.user_id = ?
         and not exists (select 1 from usage_alert_firings f where f.alert_id = a.id and f.period_start = ?)`,
      [userId, period],
    );
    if (alerts.length === 0) return [];
    const [state] = await em.execute<{ spent: string; cap: string | null; email: string; display_name: string }[]>(
      `select (select coalesce(sum(r.amount), 0)::text from usage_records r where r.user_id = u.id and r.period_start = ?) as spent,
         u.monthly_spend_cap::text as cap, u.email, u.display_name
       from users u where u.id = ? and u.deleted_at is null`,
      [period, userId],
    );
    if (!state) return [];
    const fired: (UsageAlertEventPayload & { webhookUrl: string | null })[] = [];
    for (const a of alerts) {
      const threshold =
        a.amount !== null ? a.amount : state.cap !== null ? percentOf(state.cap, String(a.percent_of_cap)) : null;
      if (threshold === null || compareMoney(state.spent, threshold) < 0) continue;
      const event = await em.transactional(async (tx) => {
        const rows = await tx.execute<{ id: string }[]>(
          `insert into usage_alert_firings (id, alert_id, period_start, threshold, spent, fired_at)
           values (?, ?, ?, ?, ?, ?) on conflict (alert_id, period_start) do nothing returning id`,
          [randomUUID(), a.id, period, threshold, state.spent, now],
        );
        if (rows.length === 0) return null;
        const payload = {
          alertId: a.id,
          userId,
          periodStart: period,
          threshold: formatMoney(threshold),
          spent: formatMoney(state.spent),
          currency: a.currency,
          percentOfCap: a.percent_of_cap,
          at: now.toISOString(),
        };
        await this.deps.outbox.add(tx, {
          to: state.email,
          template: 'usageAlert',
          dedupeKey: `usage-alert:${a.id}:${period}`,
          ...MAIL_TEMPLATES.usageAlert({
            displayName: state.display_name,
            spent: payload.spent,
            threshold: payload.threshold,
            currency: a.currency,
            month: period.slice(0, 7),
          }),
        });
        return { ...payload, webhookUrl: a.webhook_url };
      });
      if (event) fired.push(event);
    }
    if (fired.length) this.deps.outbox.committed();
    for (const { webhookUrl, ...event } of fired) {
      await this.deps.events.publish('USAGE_ALERTS', userId, event).catch((err: unknown) => {
        this.deps.logger.warn({ err, alertId: event.alertId }, 'usage alert event not published');
      });
      if (webhookUrl) {
        await this.deps
          .webhook(userId, webhookUrl, 'usage.alert', `evt_alert_${event.alertId}_${period}`, event)
          .catch((err: unknown) =>
            this.deps.logger.warn({ err, alertId: event.alertId }, 'usage alert webhook not queued'),
          );
      }
    }
    return fired.map(({ webhookUrl: _, ...e }) => e);
  }
}
