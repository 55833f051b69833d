import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { ApiKeyScope } from '../entities/enums.js';
import type { GraphQLContext } from '../graphql/context.js';
import type { PredictResult, PredictionService } from '../predictions/prediction.service.js';
import { PredictionResult } from './types/prediction-result.type.js';
import { TensorInput } from './types/tensor-input.input.js';
import { OutputEncoding } from './types/tensor-output.type.js';

@Resolver()
export class PredictionResolver {
  constructor(private readonly predictions: PredictionService) {}

  @Authorized(ApiKeyScope.PREDICT)
  @Mutation(() => PredictionResult, {
    description:
      "Runs the model now and waits for its outputs (small inputs; bounded by the server's timeout). `version` absent: the default version, which must not be deprecated.",
  })
  predict(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelId', () => ID) modelId: string,
    @Arg('inputs', () => [TensorInput]) inputs: TensorInput[],
    @Arg('version', () => String, { nullable: true }) version?: string | null,
    @Arg('outputEncoding', () => OutputEncoding, { nullable: true, defaultValue: OutputEncoding.JSON })
    outputEncoding?: OutputEncoding,
    @Arg('outputs', () => [String], {
      nullable: true,
      description:
        'Only these outputs, by name, are returned (absent: all of them); the others never leave the inference worker.',
    })
    outputs?: string[] | null,
  ): Promise<PredictResult> {
    return this.predictions.predict(ctx, { modelId, version, inputs, outputEncoding, outputs }).then((r) => {
      // `prediction { model version }` would otherwise read back the rows predict already has.
      ctx.loaders.model.prime(r.model.id, r.model);
      ctx.loaders.version.prime(r.version.id, r.version);
      return r;
    });
  }
}
