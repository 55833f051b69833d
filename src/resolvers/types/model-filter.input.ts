import { Field, Float, ID, InputType } from 'type-graphql';

@InputType({ description: 'All given conditions must hold.' })
export class ModelFilter {
  @Field(() => String, { nullable: true, description: 'Full-text search over name, tags and description.' })
  search?: string | null;

  @Field(() => [String], { nullable: true, description: 'Models carrying every one of these tags.' })
  tags?: string[] | null;

  @Field(() => String, { nullable: true })
  task?: string | null;

  @Field(() => String, { nullable: true })
  framework?: string | null;

  @Field(() => String, { nullable: true, description: 'Exact decimal, e.g. "0.01".' })
  maxPricePerRequest?: string | null;

  @Field(() => Float, { nullable: true, description: 'Minimum mean rating, 1 to 5.' })
  minRating?: number | null;

  @Field(() => ID, { nullable: true })
  ownerId?: string | null;
}
