import { Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context.js';
import type { PredictionJobService } from '../predictions/prediction-job.service.js';
import type { TensorOutputJson } from '../inference/tensor-codec.js';
import { TensorOutput } from './types/tensor-output.type.js';
import { PredictionType } from './types/prediction.type.js';
import type { PredictionFields } from '../predictions/prediction-fields.js';

/** The fields a queued job adds to a Prediction: its outputs once done, its place in line. */
@Resolver(() => PredictionType)
export class PredictionJobFieldsResolver {
  constructor(private readonly jobs: PredictionJobService) {}

  @FieldResolver(() => [TensorOutput], {
    nullable: true,
    description: 'A queued job’s outputs once SUCCEEDED (`predict` returns its outputs directly instead).',
  })
  outputs(@Root() p: PredictionFields, @Ctx() ctx: GraphQLContext): Promise<TensorOutputJson[] | null> {
    return this.jobs.outputsOf(ctx.em, p);
  }

  @FieldResolver(() => Date, {
    nullable: true,
    description:
      'When its tensors will be deleted: its end plus the shortest of PREDICTION_DATA_RETENTION_HOURS, the model’s `dataRetentionHours` and the request’s `dataRetentionSeconds`. Null while running, once removed (`dataRemovedAt`), or when kept until deleted.',
  })
  dataExpiresAt(@Root() p: PredictionFields): Date | null {
    return this.jobs.expiresAt(p);
  }

  @FieldResolver(() => Int, {
    nullable: true,
    description: 'Place in line while QUEUED (1 runs next); null otherwise.',
  })
  queuePosition(@Root() p: PredictionFields, @Ctx() ctx: GraphQLContext): Promise<number | null> {
    return this.jobs.queuePosition(ctx.em, p);
  }
}
