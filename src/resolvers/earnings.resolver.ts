import { Arg, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { EarningsService } from '../billing/earnings.service.js';
import { ApiKeyScope, Role } from '../entities/enums.js';
import type { GraphQLContext } from '../graphql/context.js';
import { Earnings } from './types/earnings.type.js';

@Resolver()
export class EarningsResolver {
  constructor(private readonly earningsService: EarningsService) {}

  @Authorized<string>(Role.PUBLISHER, Role.ADMIN, ApiKeyScope.BILLING_READ)
  @Query(() => Earnings, {
    description: "The caller's models' revenue over `[from, to)` (default: this month), minus the platform fee.",
  })
  async earnings(
    @Ctx() ctx: GraphQLContext,
    @Arg('from', () => Date, { nullable: true }) from?: Date | null,
    @Arg('to', () => Date, { nullable: true }) to?: Date | null,
  ): Promise<Earnings> {
    const e = await this.earningsService.earnings(ctx, { from, to });
    const money = (amount: string) => ({ amount, currency: e.currency });
    return {
      ...e,
      gross: money(e.gross),
      platformFee: money(e.platformFee),
      net: money(e.net),
      byModel: e.byModel.map((m) => ({
        ...m,
        gross: money(m.gross),
        platformFee: money(m.platformFee),
        net: money(m.net),
      })),
    };
  }
}
