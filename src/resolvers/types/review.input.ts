import { Field, InputType, Int } from 'type-graphql';

@InputType()
export class CreateReviewInput {
  @Field(() => Int, { description: '1 to 5 stars.' })
  rating!: number;

  @Field(() => String, { nullable: true })
  title?: string | null;

  @Field(() => String, { nullable: true })
  body?: string | null;
}

@InputType({ description: 'Fields to change; the ones left out stay as they are.' })
export class UpdateReviewInput {
  @Field(() => Int, { nullable: true })
  rating?: number | null;

  @Field(() => String, { nullable: true })
  title?: string | null;

  @Field(() => String, { nullable: true })
  body?: string | null;
}
