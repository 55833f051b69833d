import { ApiKeyScope, Role } from '../entities/enums.js';
import type { ServiceContext } from '../shared/service-context.js';
import { requireRole } from '../auth/access.js';
import { addMoney, formatMoney, percentOf, subtractMoney } from './money.js';
import { reportRange } from './report-range.js';

export type EarningsLine = {
  modelId: string;
  modelName: string;
  requests: number;
  billableRequests: number;
  gross: string;
  platformFee: string;
  net: string;
  currency: string;
};

export type Earnings = {
  periodStart: Date;
  periodEnd: Date;
  platformFeePercent: string;
  gross: string;
  platformFee: string;
  net: string;
  currency: string;
  byModel: EarningsLine[];
};

/**
 * What a publisher's models earned over `[from, to)`: revenue from usage records (the price
 * snapshotted when each prediction ran, so a later price change rewrites nothing), minus the
 * platform's PLATFORM_FEE_PERCENT. The fee is taken per model line and rounded once there
 * (percentOf, tenth decimal); the totals are exact sums of the lines.
 */
export class EarningsService {
  constructor(private readonly options: { platformFeePercent: string }) {}

  async earnings(ctx: ServiceContext, args: { from?: Date | null; to?: Date | null }): Promise<Earnings> {
    const caller = requireRole(ctx.caller, [Role.PUBLISHER, Role.ADMIN], { scope: ApiKeyScope.BILLING_READ });
    const { from, to } = reportRange(args.from, args.to);
    const rows = await ctx.em.execute<
      { model_id: string; name: string; requests: string; billable: string; gross: string; currency: string }[]
    >(
      `select r.model_id, m.name, count(*) as requests, count(*) filter (where not r.free) as billable,
         sum(r.amount)::text as gross, min(r.currency) as currency
       from usage_records r join models m on m.id = r.model_id
       where r.publisher_id = ? and r.occurred_at >= ? and r.occurred_at < ?
       group by r.model_id, m.name order by sum(r.amount) desc, m.name`,
      [caller.userId, from, to],
    );
    const percent = this.options.platformFeePercent;
    const byModel = rows.map((r) => {
      const gross = formatMoney(r.gross);
      const platformFee = percentOf(gross, percent);
      return {
        modelId: r.model_id,
        modelName: r.name,
        requests: Number(r.requests),
        billableRequests: Number(r.billable),
        gross,
        platformFee,
        net: subtractMoney(gross, platformFee),
        currency: r.currency,
      };
    });
    return {
      periodStart: from,
      periodEnd: to,
      platformFeePercent: formatMoney(percent),
      gross: addMoney(...byModel.map((l) => l.gross)),
      platformFee: addMoney(...byModel.map((l) => l.platformFee)),
      net: addMoney(...byModel.map((l) => l.net)),
      currency: byModel[0]?.currency ?? 'USD',
      byModel,
    };
  }
}
