import { Arg, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { UsageService, UsageSummary as UsageSummaryData, UsageTotals } from '../billing/usage.service.js';
import { ApiKeyScope } from '../entities/enums.js';
import type { GraphQLContext } from '../graphql/context.js';
import { UsageGroupBy, UsageSummary } from './types/usage.type.js';

const money = (t: UsageTotals) => ({ amount: t.amount, currency: t.currency });

/** The service's summary in the schema's shape (amounts as Money); `usageUpdated` sends it too. */
export function toUsageSummaryType(s: UsageSummaryData): UsageSummary {
  return {
    ...s,
    amount: money(s),
    byModel: s.byModel.map((m) => ({ ...m, amount: money(m) })),
    byDay: s.byDay.map((d) => ({ ...d, amount: money(d) })),
  };
}

@Resolver()
export class UsageResolver {
  constructor(private readonly usageService: UsageService) {}

  @Authorized(ApiKeyScope.BILLING_READ)
  @Query(() => UsageSummary, {
    description: "The caller's usage over `[from, to)` (default: this calendar month, UTC).",
  })
  async usage(
    @Ctx() ctx: GraphQLContext,
    @Arg('from', () => Date, { nullable: true }) from?: Date | null,
    @Arg('to', () => Date, { nullable: true }) to?: Date | null,
    @Arg('groupBy', () => UsageGroupBy, { nullable: true }) groupBy?: UsageGroupBy | null,
  ): Promise<UsageSummary> {
    return toUsageSummaryType(await this.usageService.summary(ctx, { from, to, groupBy }));
  }
}
