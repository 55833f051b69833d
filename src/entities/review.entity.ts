import { defineEntity, p } from '@mikro-orm/core';
import { createdAt, updatedAt, uuidPrimaryKey } from './columns.js';
import { Model } from './model.entity.js';
import { User } from './user.entity.js';

const ReviewSchema = defineEntity({
  name: 'Review',
  tableName: 'reviews',
  properties: {
    id: uuidPrimaryKey(),
    model: () => p.manyToOne(Model),
    author: () => p.manyToOne(User).index(),
    /** 1 to 5 stars. */
    rating: p.smallint().check('((rating >= 1) AND (rating <= 5))'),
    title: p.string().length(200).default(''),
    body: p.text().default(''),
    /** The author had a succeeded prediction on this model when the review was written. */
    verifiedUsage: p.boolean().default(false),
    helpfulCount: p.integer().default(0),
    publisherReply: p.text().nullable(),
    publisherReplyAt: p.datetime().nullable(),
    /** Hidden by an admin (moderation): not listed and not counted in the aggregates. */
    hidden: p.boolean().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  uniques: [{ name: 'reviews_model_author_unique', properties: ['model', 'author'] }],
  indexes: [{ name: 'reviews_model_created_at_index', properties: ['model', 'createdAt'] }],
});

export class Review extends ReviewSchema.class {}
ReviewSchema.setClass(Review);
