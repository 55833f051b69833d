import { defineEntity, p } from '@mikro-orm/core';
import { createdAt, uuidPrimaryKey } from './columns.js';
import { Review } from './review.entity.js';
import { User } from './user.entity.js';

/** A "helpful" vote: one per user per review. */
const ReviewVoteSchema = defineEntity({
  name: 'ReviewVote',
  tableName: 'review_votes',
  properties: {
    id: uuidPrimaryKey(),
    review: () => p.manyToOne(Review).deleteRule('cascade'),
    user: () => p.manyToOne(User).index(),
    createdAt: createdAt(),
  },
  uniques: [{ name: 'review_votes_review_user_unique', properties: ['review', 'user'] }],
});

export class ReviewVote extends ReviewVoteSchema.class {}
ReviewVoteSchema.setClass(ReviewVote);
