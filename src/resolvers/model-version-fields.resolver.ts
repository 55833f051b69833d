import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { ModelVersion } from '../entities/model-version.entity.js';
import type { GraphQLContext } from '../graphql/context.js';
import { ModelVersionType } from './types/model-version.type.js';
import { ModelType } from './types/model.type.js';
import { TensorSpec } from './types/tensor-spec.type.js';
import { describedSignature } from '../catalog/version-metadata.js';

/** An example as a TensorOutput carries its input's name. */
const exampleNamed = (inputs: NonNullable<ModelVersion['metadata']>['inputs'] | undefined) =>
  inputs &&
  Object.fromEntries(
    Object.entries(inputs).map(([name, m]) => [
      name,
      { ...m, example: m.example ? { name, data: null, b64: null, ...m.example } : undefined },
    ]),
  );

@Resolver(() => ModelVersionType)
export class ModelVersionFieldsResolver {
  @FieldResolver(() => ModelType)
  model(@Root() version: ModelVersion, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.model.load(version.model.id);
  }

  @FieldResolver(() => [TensorSpec])
  inputs(@Root() version: ModelVersion) {
    return describedSignature(version.inputs, exampleNamed(version.metadata?.inputs));
  }

  @FieldResolver(() => [TensorSpec])
  outputs(@Root() version: ModelVersion) {
    return describedSignature(version.outputs, version.metadata?.outputs);
  }

  @FieldResolver(() => Boolean, { description: "True for the model's default version." })
  async isDefault(@Root() version: ModelVersion, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const model = await ctx.loaders.model.load(version.model.id);
    return model?.defaultVersion?.id === version.id;
  }
}
