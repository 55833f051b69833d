import type { EntityManager } from '@mikro-orm/postgresql';
import type { ServiceContext } from '../shared/service-context.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import type { TopicPayloads } from '../subscriptions/topics.js';
import { requireUser } from '../auth/access.js';
import { ApiKeyScope } from '../entities/enums.js';
import { formatMoney } from './money.js';
import { reportRange } from './report-range.js';

export enum UsageGroupBy {
  MODEL = 'MODEL',
  DAY = 'DAY',
}

export type UsageTotals = { requests: number; billableRequests: number; amount: string; currency: string };
export type UsageByModel = UsageTotals & { modelId: string; modelName: string; modelSlug: string };
export type UsageByDay = UsageTotals & { day: string };
export type UsageSummary = UsageTotals & {
  periodStart: Date;
  periodEnd: Date;
  byModel: UsageByModel[];
  byDay: UsageByDay[];
};

type TotalsRow = { requests: string; billable: string; amount: string; currency: string | null };

const totals = (r: TotalsRow): UsageTotals => ({
  requests: Number(r.requests),
  billableRequests: Number(r.billable),
  amount: formatMoney(r.amount),
  currency: r.currency ?? 'USD',
});

const AGGREGATES = `count(*) as requests, count(*) filter (where not r.free) as billable,
  coalesce(sum(r.amount), 0)::text as amount, min(r.currency) as currency`;

/**
 * The consumer's own usage over `[from, to)`, summed in SQL (numeric, exact) from usage records.
 * `groupBy` picks which breakdown is filled (both when absent); the other list is empty.
 */
export class UsageService {
  /**
   * `usageUpdated`: the caller's own usage events (an API key needs `billing:read`). Keyed by
   * the caller's id, so no one else's usage can arrive on this stream.
   */
  updates(ctx: ServiceContext, bus: EventBus): AsyncIterableIterator<TopicPayloads['USAGE_UPDATED']> {
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.BILLING_READ });
    return bus.subscribe('USAGE_UPDATED', caller.userId);
  }

  async summary(
    ctx: ServiceContext,
    args: { from?: Date | null; to?: Date | null; groupBy?: UsageGroupBy | null },
  ): Promise<UsageSummary> {
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.BILLING_READ });
    return this.summaryFor(ctx.em, caller.userId, args);
  }

  async summaryFor(
    em: EntityManager,
    userId: string,
    args: { from?: Date | null; to?: Date | null; groupBy?: UsageGroupBy | null },
  ): Promise<UsageSummary> {
    const { from, to } = reportRange(args.from, args.to);
    const where = 'r.user_id = ? and r.occurred_at >= ? and r.occurred_at < ?';
    const params = [userId, from, to];
    const [all] = (await em.execute<TotalsRow[]>(
      `select ${AGGREGATES} from usage_records r where ${where}`,
      params,
    )) as [TotalsRow];
    const byModel =
      args.groupBy === UsageGroupBy.DAY
        ? []
        : (
            await em.execute<(TotalsRow & { model_id: string; name: string; slug: string })[]>(
              `select r.model_id, m.name, m.slug, ${AGGREGATES}
               from usage_records r join models m on m.id = r.model_id
               where ${where} group by r.model_id, m.name, m.slug order by sum(r.amount) desc, m.name`,
              params,
            )
          ).map((r) => ({ ...totals(r), modelId: r.model_id, modelName: r.name, modelSlug: r.slug }));
    const byDay =
      args.groupBy === UsageGroupBy.MODEL
        ? []
        : (
            await em.execute<(TotalsRow & { day: string })[]>(
              `select to_char(date_trunc('day', r.occurred_at at time zone 'UTC'), 'YYYY-MM-DD') as day, ${AGGREGATES}
               from usage_records r where ${where} group by 1 order by 1`,
              params,
            )
          ).map((r) => ({ ...totals(r), day: r.day }));
    return { ...totals(all), periodStart: from, periodEnd: to, byModel, byDay };
  }
}
