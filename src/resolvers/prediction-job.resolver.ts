import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { ApiKeyScope, PredictionStatus } from '../entities/enums.js';
import type { Prediction } from '../entities/prediction.entity.js';
import type { GraphQLContext } from '../graphql/context.js';
import type { PredictionJobService } from '../predictions/prediction-job.service.js';
import type { WebhookEventName } from '../predictions/prediction-job.types.js';
import { badInput } from '../shared/errors.js';
import type { Page } from '../shared/pagination.js';
import { connectionOf } from './types/connection.js';
import { CreatePredictionInput } from './types/create-prediction.input.js';
import { PageArgs } from './types/page.args.js';
import { PredictionType } from './types/prediction.type.js';

export const PredictionConnection = connectionOf(PredictionType, 'Prediction');

const WEBHOOK_EVENTS: readonly WebhookEventName[] = ['started', 'completed'];

/** Queued predictions: create, read, list, cancel (src/predictions/prediction-job.service.ts). */
@Resolver(() => PredictionType)
export class PredictionJobResolver {
  constructor(
    private readonly jobs: PredictionJobService,
    private readonly maxPageSize: number,
  ) {}

  @Authorized(ApiKeyScope.PREDICT)
  @Mutation(() => PredictionType, {
    description: 'Queues a prediction and returns it QUEUED; follow it with `predictionUpdated(id)` or a webhook.',
  })
  createPrediction(
    @Ctx() ctx: GraphQLContext,
    @Arg('input', () => CreatePredictionInput) input: CreatePredictionInput,
  ) {
    const events = input.webhookEvents ?? [];
    const unknown = events.filter((e) => !WEBHOOK_EVENTS.includes(e as WebhookEventName));
    if (unknown.length) throw badInput(`unknown webhook events: ${unknown.join(', ')}`, { field: 'webhookEvents' });
    return this.jobs.create(ctx, { ...input, webhookEvents: events as WebhookEventName[] });
  }

  @Authorized(ApiKeyScope.PREDICT)
  @Mutation(() => PredictionType, {
    description: 'Cancels a queued or running job (a running one is never billed). Final jobs come back unchanged.',
  })
  cancelPrediction(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return this.jobs.cancel(ctx, id);
  }

  @Authorized(ApiKeyScope.PREDICT)
  @Mutation(() => PredictionType, {
    description:
      "Deletes a finished prediction's tensors now (its outputs are null from then on, `dataRemovedAt` says when); its record, cost and usage stay.",
  })
  deletePredictionData(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return this.jobs.removeData(ctx, id);
  }

  @Authorized(ApiKeyScope.PREDICT)
  @Query(() => PredictionType, { description: 'One of your predictions.' })
  prediction(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return this.jobs.get(ctx, id);
  }

  @Authorized(ApiKeyScope.PREDICT)
  @Query(() => PredictionConnection, { description: 'Your predictions, newest first.' })
  predictions(
    @Ctx() ctx: GraphQLContext,
    @Args() page: PageArgs,
    @Arg('status', () => PredictionStatus, { nullable: true }) status?: PredictionStatus | null,
    @Arg('modelId', () => ID, { nullable: true }) modelId?: string | null,
  ): Promise<Page<Prediction>> {
    return this.jobs.list(ctx, { status, modelId, first: page.first, after: page.after }, this.maxPageSize);
  }
}
