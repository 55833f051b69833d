import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { ModelVersion } from '../entities/model-version.entity.js';
import type { GraphQLContext } from '../graphql/context.js';
import { ModelVersionType } from './types/model-version.type.js';
import { ModelType } from './types/model.type.js';

@Resolver(() => ModelVersionType)
export class ModelVersionFieldsResolver {
  @FieldResolver(() => ModelType)
  model(@Root() version: ModelVersion, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.model.load(version.model.id);
  }

  @FieldResolver(() => Boolean, { description: "True for the model's default version." })
  async isDefault(@Root() version: ModelVersion, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const model = await ctx.loaders.model.load(version.model.id);
    return model?.defaultVersion?.id === version.id;
  }
}
