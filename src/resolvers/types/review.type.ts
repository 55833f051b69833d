import { Field, ID, Int, ObjectType } from 'type-graphql';
import { connectionOf } from './connection.js';

@ObjectType('Review')
export class ReviewType {
  @Field(() => ID)
  id!: string;

  @Field(() => Int, { description: '1 to 5.' })
  rating!: number;

  @Field()
  title!: string;

  @Field()
  body!: string;

  @Field({ description: 'The author had a succeeded prediction on this model when writing it.' })
  verifiedUsage!: boolean;

  @Field(() => Int)
  helpfulCount!: number;

  @Field(() => String, { nullable: true })
  publisherReply!: string | null;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;
}

export const ReviewConnection = connectionOf(ReviewType, 'Review');
