import type { GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { Arg, Ctx, ID, Info, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { PredictionFields } from '../predictions/prediction-fields.js';
import type { GraphQLContext } from '../graphql/context.js';
import type { PredictionJobService } from '../predictions/prediction-job.service.js';
import type { PredictionEventPayload } from '../subscriptions/topics.js';
import { schemaWiring } from './schema-wiring.js';
import { PredictionType } from './types/prediction.type.js';

const wiring = schemaWiring<{ jobs: PredictionJobService }>('prediction subscriptions');

export function registerPredictionSubscriptions(schema: GraphQLSchema, jobs: PredictionJobService): void {
  wiring.register(schema, { jobs });
}

const wired = (schema: GraphQLSchema) => wiring.get(schema);

@Resolver(() => PredictionType)
export class PredictionSubscriptionResolver {
  @Subscription(() => PredictionType, {
    description:
      'One prediction: its state now, then every status change, in order; the stream ends after SUCCEEDED, FAILED or CANCELED.',
    subscribe: ({ args, context, info }: SubscribeResolverData<unknown, { id: string }, GraphQLContext>) => {
      return wired(info.schema).jobs.updates(context, String(args.id));
    },
  })
  predictionUpdated(
    @Root() event: PredictionEventPayload,
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID) _id: string,
    @Info() info: GraphQLResolveInfo,
  ): Promise<PredictionFields> {
    return wired(info.schema).jobs.eventView(ctx.em, event);
  }

  @Subscription(() => PredictionType, {
    description: 'Every status change of every one of your predictions.',
    subscribe: ({ context, info }: SubscribeResolverData<unknown, Record<string, never>, GraphQLContext>) => {
      return wired(info.schema).jobs.myEvents(context);
    },
  })
  myPredictionEvents(
    @Root() event: PredictionEventPayload,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<PredictionFields> {
    return wired(info.schema).jobs.eventView(ctx.em, event);
  }
}
