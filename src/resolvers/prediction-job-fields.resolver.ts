import { Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { Prediction } from '../entities/prediction.entity.js';
import type { GraphQLContext } from '../graphql/context.js';
import type { AsyncPredictionService } from '../predictions/async-prediction.service.js';
import type { TensorOutputJson } from '../inference/tensor-codec.js';
import { TensorOutput } from './types/tensor-output.type.js';
import { PredictionType } from './types/prediction.type.js';
import type { PredictionFields } from '../predictions/prediction-fields.js';

/** The fields a queued job adds to a Prediction: its outputs once done, its place in line. */
@Resolver(() => PredictionType)
export class PredictionJobFieldsResolver {
  constructor(private readonly jobs: AsyncPredictionService) {}

  @FieldResolver(() => [TensorOutput], {
    nullable: true,
    description: 'A queued job’s outputs once SUCCEEDED (`predict` returns its outputs directly instead).',
  })
  async outputs(@Root() p: PredictionFields, @Ctx() ctx: GraphQLContext): Promise<TensorOutputJson[] | null> {
    if (p.status !== 'SUCCEEDED') return null;
    // `outputs` is a lazy column (it can be large): loaded only when a client asks for it.
    const loaded = await ctx.em.findOne(Prediction, { id: p.id }, { populate: ['outputs'] });
    return (loaded?.outputs as TensorOutputJson[] | null | undefined) ?? null;
  }

  @FieldResolver(() => Int, {
    nullable: true,
    description: 'Place in line while QUEUED (1 runs next); null otherwise.',
  })
  queuePosition(@Root() p: PredictionFields, @Ctx() ctx: GraphQLContext): Promise<number | null> {
    return this.jobs.queuePosition(ctx.em, p);
  }
}
