import { ArgsType, Field, Int } from 'type-graphql';
import { ReviewOrder } from './enums.js';

@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, description: 'Page size (default 20, at most the server cap, 100 by default).' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'The `endCursor` of the previous page.' })
  after?: string | null;
}

@ArgsType()
export class ReviewPageArgs extends PageArgs {
  @Field(() => ReviewOrder, { nullable: true, defaultValue: ReviewOrder.NEWEST })
  orderBy?: ReviewOrder | null;
}
