import type { GraphQLSchema } from 'graphql';
import { Arg, Ctx, ID, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { Prediction } from '../entities/prediction.entity.js';
import type { GraphQLContext } from '../graphql/context.js';
import type { AsyncPredictionService } from '../predictions/async-prediction.service.js';
import { notFound } from '../shared/errors.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import type { PredictionEventPayload } from '../subscriptions/topics.js';
import { PredictionType } from './types/prediction.type.js';

/**
 * type-graphql calls `subscribe` without a resolver instance, so the service and the bus are
 * found through the schema the operation runs on (one registration per app; no globals shared
 * between apps in one process), as version-subscription.resolver.ts does.
 */
const wiring = new WeakMap<GraphQLSchema, { jobs: AsyncPredictionService; bus: EventBus }>();

export function registerPredictionSubscriptions(
  schema: GraphQLSchema,
  jobs: AsyncPredictionService,
  bus: EventBus,
): void {
  wiring.set(schema, { jobs, bus });
}

function wired(schema: GraphQLSchema) {
  const w = wiring.get(schema);
  if (!w) throw new Error('prediction subscriptions are not registered for this schema');
  return w;
}

/** Each event is read with a fresh fork: one subscription lives longer than one identity map. */
async function load(ctx: GraphQLContext, event: PredictionEventPayload): Promise<Prediction> {
  const p = await ctx.em.fork().findOne(Prediction, { id: event.predictionId });
  if (!p) throw notFound('Prediction');
  return p;
}

@Resolver(() => PredictionType)
export class PredictionSubscriptionResolver {
  @Subscription(() => PredictionType, {
    description:
      'One prediction: its state now, then every status change, in order; the stream ends after SUCCEEDED, FAILED or CANCELED.',
    subscribe: ({ args, context, info }: SubscribeResolverData<unknown, { id: string }, GraphQLContext>) => {
      const { jobs, bus } = wired(info.schema);
      return jobs.updates(context, String(args.id), bus);
    },
  })
  predictionUpdated(
    @Root() event: PredictionEventPayload,
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID) _id: string,
  ): Promise<Prediction> {
    return load(ctx, event);
  }

  @Subscription(() => PredictionType, {
    description: 'Every status change of every one of your predictions.',
    subscribe: ({ context, info }: SubscribeResolverData<unknown, Record<string, never>, GraphQLContext>) => {
      const { jobs, bus } = wired(info.schema);
      return jobs.myEvents(context, bus);
    },
  })
  myPredictionEvents(@Root() event: PredictionEventPayload, @Ctx() ctx: GraphQLContext): Promise<Prediction> {
    return load(ctx, event);
  }
}
