import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { ModelWriteService } from '../catalog/model-write.service.js';
import { ApiKeyScope, Role } from '../entities/enums.js';
import type { GraphQLContext } from '../graphql/context.js';
import { CreateModelInput, UpdateModelInput } from './types/model.input.js';
import { ModelType } from './types/model.type.js';

/** createModel / updateModel / deleteModel: ownership and validation live in ModelWriteService. */
@Resolver(() => ModelType)
export class ModelMutationResolver {
  constructor(private readonly modelWrites: ModelWriteService) {}

  @Authorized<string>(Role.PUBLISHER, Role.ADMIN, ApiKeyScope.MODELS_WRITE)
  @Mutation(() => ModelType, { description: 'Publishers (and admins) only.' })
  async createModel(@Ctx() ctx: GraphQLContext, @Arg('input', () => CreateModelInput) input: CreateModelInput) {
    return this.prime(ctx, await this.modelWrites.create(ctx, input));
  }

  @Authorized(ApiKeyScope.MODELS_WRITE)
  @Mutation(() => ModelType, { description: 'The owner (or an admin) only.' })
  async updateModel(
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateModelInput) input: UpdateModelInput,
  ) {
    return this.prime(ctx, await this.modelWrites.update(ctx, id, input));
  }

  @Authorized(ApiKeyScope.MODELS_WRITE)
  @Mutation(() => ModelType, {
    description: 'Soft delete: gone from the catalog and search, still readable by its owner. Idempotent.',
  })
  async deleteModel(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return this.prime(ctx, await this.modelWrites.delete(ctx, id));
  }

  private prime<T extends { id: string }>(ctx: GraphQLContext, model: T): T {
    ctx.loaders.model.clear(model.id).prime(model.id, model as never);
    return model;
  }
}
