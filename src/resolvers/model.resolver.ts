import { Arg, Args, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { ModelService } from '../catalog/model.service.js';
import type { GraphQLContext } from '../graphql/context.js';
import { ModelOrder } from './types/enums.js';
import { ModelFilter } from './types/model-filter.input.js';
import { ModelConnection, ModelType } from './types/model.type.js';
import { PageArgs } from './types/page.args.js';

@Resolver(() => ModelType)
export class ModelResolver {
  constructor(private readonly modelService: ModelService) {}

  @Query(() => ModelType, { description: 'One model, by `id` or by `slug`.' })
  async model(
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID, { nullable: true }) id?: string,
    @Arg('slug', () => String, { nullable: true }) slug?: string,
  ) {
    const model = await this.modelService.get(ctx, { id, slug });
    ctx.loaders.model.prime(model.id, model);
    return model;
  }

  @Query(() => ModelConnection, { description: 'The public catalog, filtered and ordered.' })
  async models(
    @Ctx() ctx: GraphQLContext,
    @Args() page: PageArgs,
    @Arg('filter', () => ModelFilter, { nullable: true }) filter?: ModelFilter,
    @Arg('orderBy', () => ModelOrder, { nullable: true }) orderBy?: ModelOrder,
  ) {
    const result = await this.modelService.list(ctx, { filter, orderBy, first: page.first, after: page.after });
    // Versions ask for their model (isDefault, model): the page already holds them.
    for (const { node } of result.edges) ctx.loaders.model.prime(node.id, node);
    return result;
  }
}
