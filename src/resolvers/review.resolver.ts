import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { ReviewService } from '../catalog/review.service.js';
import { Role } from '../entities/enums.js';
import type { GraphQLContext } from '../graphql/context.js';
import { CreateReviewInput, UpdateReviewInput } from './types/review.input.js';
import { ReviewType } from './types/review.type.js';

/**
 * Review mutations. Reviews speak for a person, so they need a signed-in user (API keys are
 * refused by `@Authorized()`); every other rule lives in ReviewService.
 */
@Resolver(() => ReviewType)
export class ReviewResolver {
  constructor(private readonly reviews: ReviewService) {}

  @Authorized()
  @Mutation(() => ReviewType, {
    description: 'One review per user per model; verifiedUsage is set when you have run the model.',
  })
  createReview(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelId', () => ID) modelId: string,
    @Arg('input', () => CreateReviewInput) input: CreateReviewInput,
  ) {
    return this.reviews.create(ctx, modelId, input);
  }

  @Authorized()
  @Mutation(() => ReviewType, { description: 'The author only.' })
  updateReview(
    @Ctx() ctx: GraphQLContext,
    @Arg('reviewId', () => ID) reviewId: string,
    @Arg('input', () => UpdateReviewInput) input: UpdateReviewInput,
  ) {
    return this.reviews.update(ctx, reviewId, input);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'The author (or an admin) only.' })
  deleteReview(@Ctx() ctx: GraphQLContext, @Arg('reviewId', () => ID) reviewId: string) {
    return this.reviews.delete(ctx, reviewId);
  }

  @Authorized()
  @Mutation(() => ReviewType, {
    description: "One vote per user; not on one's own review. Voting again changes nothing.",
  })
  markReviewHelpful(@Ctx() ctx: GraphQLContext, @Arg('reviewId', () => ID) reviewId: string) {
    return this.reviews.markHelpful(ctx, reviewId);
  }

  @Authorized()
  @Mutation(() => ReviewType, { description: "The model's owner answers a review." })
  replyToReview(
    @Ctx() ctx: GraphQLContext,
    @Arg('reviewId', () => ID) reviewId: string,
    @Arg('body', () => String) body: string,
  ) {
    return this.reviews.reply(ctx, reviewId, body);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ReviewType, { description: 'Admins hide (or restore) a review; hidden ones do not count.' })
  moderateReview(
    @Ctx() ctx: GraphQLContext,
    @Arg('reviewId', () => ID) reviewId: string,
    @Arg('hidden', () => Boolean) hidden: boolean,
  ) {
    return this.reviews.moderate(ctx, reviewId, hidden);
  }
}
