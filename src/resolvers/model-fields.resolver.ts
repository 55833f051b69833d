import { Args, Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { formatMoney } from '../billing/money.js';
import type { Model } from '../entities/model.entity.js';
import type { GraphQLContext } from '../graphql/context.js';
import { pageSize } from '../shared/pagination.js';
import { ModelVersionConnection, ModelVersionType } from './types/model-version.type.js';
import { ModelType } from './types/model.type.js';
import { Pricing } from './types/money.type.js';
import { PageArgs, ReviewPageArgs } from './types/page.args.js';
import { ReviewConnection } from './types/review.type.js';
import { UserType } from './types/user.type.js';

/** Model's relations, each through a request-scoped loader so a page costs a fixed number of queries. */
@Resolver(() => ModelType)
export class ModelFieldsResolver {
  constructor(private readonly maxPageSize: number) {}

  @FieldResolver(() => UserType)
  owner(@Root() model: Model, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.user.load(model.owner.id);
  }

  @FieldResolver(() => Pricing)
  pricing(@Root() model: Model): Pricing {
    return {
      pricePerRequest: { amount: formatMoney(model.pricePerRequest), currency: model.currency },
      freeRequestsPerMonth: model.freeRequestsPerMonth,
      effectiveFrom: model.pricingEffectiveFrom,
    };
  }

  @FieldResolver(() => ModelVersionType, {
    nullable: true,
    description: 'The version predictions use when none is named.',
  })
  defaultVersion(@Root() model: Model, @Ctx() ctx: GraphQLContext) {
    return model.defaultVersion ? ctx.loaders.version.load(model.defaultVersion.id) : null;
  }

  @FieldResolver(() => ModelVersionConnection, {
    description: 'Newest first. Owners also see PROCESSING and FAILED ones.',
  })
  versions(@Root() model: Model, @Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.versionsOfModel.load({
      parentId: model.id,
      limit: pageSize(page.first, this.maxPageSize),
      after: page.after ?? null,
      includeUnpublished: ctx.loaders.canSeeUnpublished(model),
    });
  }

  @FieldResolver(() => ReviewConnection)
  reviews(@Root() model: Model, @Args() page: ReviewPageArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.reviewsOfModel.load({
      parentId: model.id,
      limit: pageSize(page.first, this.maxPageSize),
      after: page.after ?? null,
      order: page.orderBy ?? 'NEWEST',
    });
  }
}
