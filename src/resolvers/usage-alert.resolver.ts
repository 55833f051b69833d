import type { GraphQLSchema } from 'graphql';
import {
  Arg,
  Authorized,
  Ctx,
  ID,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
  type SubscribeResolverData,
} from 'type-graphql';
import type { UsageAlertService } from '../billing/usage-alert.service.js';
import { formatMoney } from '../billing/money.js';
import { ApiKeyScope } from '../entities/enums.js';
import type { UsageAlert } from '../entities/usage-alert.entity.js';
import type { GraphQLContext } from '../graphql/context.js';
import type { UsageAlertEventPayload } from '../subscriptions/topics.js';
import { schemaWiring } from './schema-wiring.js';
import { UsageAlertEventType, UsageAlertInput, UsageAlertType } from './types/usage-alert.type.js';

const toType = (a: UsageAlert): UsageAlertType => ({
  id: a.id,
  percentOfCap: a.percentOfCap ?? null,
  amount: a.amount != null ? { amount: formatMoney(a.amount), currency: a.currency } : null,
  webhookUrl: a.webhookUrl ?? null,
  createdAt: a.createdAt,
});

const wiring = schemaWiring<UsageAlertService>('usage alert subscriptions');

export const registerUsageAlertSubscriptions = (schema: GraphQLSchema, alerts: UsageAlertService) =>
  wiring.register(schema, alerts);

/** Usage alerts (src/billing/usage-alert.service.ts). */
@Resolver(() => UsageAlertType)
export class UsageAlertResolver {
  constructor(private readonly alerts: UsageAlertService) {}

  @Authorized(ApiKeyScope.BILLING_READ)
  @Query(() => [UsageAlertType], { description: 'Your usage alerts, oldest first.' })
  async usageAlerts(@Ctx() ctx: GraphQLContext) {
    return (await this.alerts.list(ctx)).map(toType);
  }

  @Authorized(ApiKeyScope.BILLING_READ)
  @Mutation(() => UsageAlertType, { description: 'Adds a usage alert (at most 20).' })
  async createUsageAlert(@Ctx() ctx: GraphQLContext, @Arg('input', () => UsageAlertInput) input: UsageAlertInput) {
    return toType(await this.alerts.create(ctx, input));
  }

  @Authorized(ApiKeyScope.BILLING_READ)
  @Mutation(() => Boolean, { description: 'Deletes one of your usage alerts.' })
  deleteUsageAlert(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return this.alerts.delete(ctx, id);
  }

  // Checked by the service as it subscribes (a signed-in caller; API keys need `billing:read`).
  @Subscription(() => UsageAlertEventType, {
    description: 'Your usage alerts as they fire.',
    subscribe: ({ context, info }: SubscribeResolverData<unknown, Record<string, never>, GraphQLContext>) => {
      return wiring.get(info.schema).events(context);
    },
  })
  usageAlert(@Root() e: UsageAlertEventPayload): UsageAlertEventType {
    return {
      alertId: e.alertId,
      periodStart: e.periodStart,
      threshold: { amount: e.threshold, currency: e.currency },
      spent: { amount: e.spent, currency: e.currency },
      percentOfCap: e.percentOfCap,
      at: new Date(e.at),
    };
  }
}
