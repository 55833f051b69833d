import type { GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { Ctx, Info, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { UsageService } from '../billing/usage.service.js';
import type { GraphQLContext } from '../graphql/context.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import type { TopicPayloads } from '../subscriptions/topics.js';
import { schemaWiring } from './schema-wiring.js';
import { UsageSummary } from './types/usage.type.js';
import { toUsageSummaryType } from './usage.resolver.js';

const wiring = schemaWiring<{ usage: UsageService; bus: EventBus }>('usage subscriptions');

export function registerUsageSubscriptions(schema: GraphQLSchema, usage: UsageService, bus: EventBus): void {
  wiring.register(schema, { usage, bus });
}

@Resolver()
export class UsageSubscriptionResolver {
  @Subscription(() => UsageSummary, {
    description:
      'Your usage for the current calendar month (UTC), sent again after your predictions are metered (a few times a second at most).',
    subscribe: ({ context, info }: SubscribeResolverData<unknown, Record<string, never>, GraphQLContext>) => {
      const w = wiring.get(info.schema);
      return w.usage.updates(context, w.bus);
    },
  })
  async usageUpdated(
    @Root() event: TopicPayloads['USAGE_UPDATED'],
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<UsageSummary> {
    const w = wiring.get(info.schema);
    // A fresh fork per event: the subscription outlives any one identity map.
    return toUsageSummaryType(await w.usage.summaryFor(ctx.em.fork(), event.userId, {}));
  }
}
