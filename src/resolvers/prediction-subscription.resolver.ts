import type { GraphQLSchema } from 'graphql';
import { Arg, Ctx, ID, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { PredictionStatus } from '../entities/enums.js';
import { Prediction } from '../entities/prediction.entity.js';
import type { PredictionFields } from '../predictions/prediction-fields.js';
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

/**
 * One read per event per process, shared by every subscriber it reaches. Without it an event
 * fanned out to 5,000 sockets ran 5,000 identical SELECTs (p99 of seconds in
 * bench/scenarios/subscriber-fanout.bench.ts). Sharing is safe: the event reaches a subscriber only
 * through a topic keyed by that subscriber's own prediction or user id, so everyone sharing a read
 * may see it; the row is read with a fresh fork (a subscription outlives any identity map) and
 * not mutated by resolvers. Entries live a few seconds: an event's readers all arrive within
 * one fan-out.
 */
const sharedReads = new Map<string, Promise<Prediction | null>>();
const SHARED_READ_MS = 5000;

async function load(ctx: GraphQLContext, event: PredictionEventPayload): Promise<PredictionFields> {
  const key = `${event.predictionId}:${event.status}:${event.at}`;
  let read = sharedReads.get(key);
  if (!read) {
    read = ctx.em.fork().findOne(Prediction, { id: event.predictionId });
    sharedReads.set(key, read);
    setTimeout(() => sharedReads.delete(key), SHARED_READ_MS).unref();
    // A failed read is not kept: the next subscriber tries again.
    read.catch(() => sharedReads.delete(key));
  }
  const p = await read;
  if (!p) throw notFound('Prediction');
  return asOfEvent(p, event);
}

/**
 * The prediction as the event describes it. The row is read when the event is delivered, and a
 * job moves on quickly: a RUNNING event read after the job finished would otherwise show as
 * SUCCEEDED, and the client would see SUCCEEDED twice. So the event's status wins, and the
 * fields that status could not have yet (timings, cost, error, outputs) are left out.
 */
function asOfEvent(p: Prediction, event: PredictionEventPayload): PredictionFields {
  const status = event.status;
  if ((p.status as PredictionStatus) === status) return p;
  const started = status !== PredictionStatus.QUEUED;
  const succeeded = status === PredictionStatus.SUCCEEDED;
  const failed = status === PredictionStatus.FAILED || status === PredictionStatus.CANCELED;
  return {
    id: p.id,
    status,
    mode: p.mode,
    device: started ? p.device : null,
    batchSize: succeeded ? p.batchSize : null,
    createdAt: p.createdAt,
    startedAt: started ? p.startedAt : null,
    completedAt: succeeded || failed ? p.completedAt : null,
    queueTimeMs: started ? p.queueTimeMs : null,
    inferenceTimeMs: succeeded ? p.inferenceTimeMs : null,
    errorCode: failed ? p.errorCode : null,
    errorMessage: failed ? p.errorMessage : null,
    unitPrice: succeeded ? p.unitPrice : null,
    cost: succeeded ? p.cost : null,
    currency: p.currency,
    model: p.model,
    version: p.version,
  };
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
  ): Promise<PredictionFields> {
    return load(ctx, event);
  }

  @Subscription(() => PredictionType, {
    description: 'Every status change of every one of your predictions.',
    subscribe: ({ context, info }: SubscribeResolverData<unknown, Record<string, never>, GraphQLContext>) => {
      const { jobs, bus } = wired(info.schema);
      return jobs.myEvents(context, bus);
    },
  })
  myPredictionEvents(@Root() event: PredictionEventPayload, @Ctx() ctx: GraphQLContext): Promise<PredictionFields> {
    return load(ctx, event);
  }
}
