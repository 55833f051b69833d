import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { Review } from '../entities/review.entity.js';
import type { GraphQLContext } from '../graphql/context.js';
import { ModelType } from './types/model.type.js';
import { ReviewType } from './types/review.type.js';
import { UserType } from './types/user.type.js';

@Resolver(() => ReviewType)
export class ReviewFieldsResolver {
  @FieldResolver(() => UserType)
  author(@Root() review: Review, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.user.load(review.author.id);
  }

  @FieldResolver(() => ModelType)
  model(@Root() review: Review, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.model.load(review.model.id);
  }
}
