import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { AnalyticsService } from '../billing/analytics.service.js';
import { ApiKeyScope } from '../entities/enums.js';
import type { GraphQLContext } from '../graphql/context.js';
import { ModelAnalytics } from './types/analytics.type.js';

@Resolver()
export class AnalyticsResolver {
  constructor(private readonly analytics: AnalyticsService) {}

  @Authorized(ApiKeyScope.MODELS_READ)
  @Query(() => ModelAnalytics, {
    description:
      "A model's predictions, success rate and latency over `[from, to)` (default: this month). Owner or admin.",
  })
  modelAnalytics(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelId', () => ID) modelId: string,
    @Arg('from', () => Date, { nullable: true }) from?: Date | null,
    @Arg('to', () => Date, { nullable: true }) to?: Date | null,
  ): Promise<ModelAnalytics> {
    return this.analytics.modelAnalytics(ctx, { modelId, from, to });
  }
}
