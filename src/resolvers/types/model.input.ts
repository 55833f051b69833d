import { Field, InputType, Int } from 'type-graphql';

@InputType({ description: 'A new model. The caller (a publisher) becomes its owner.' })
export class CreateModelInput {
  @Field({ description: 'Unique, 1-100 lower-case letters, digits and dashes; used in URLs.' })
  slug!: string;

  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => [String], { nullable: true, description: 'Up to 20, stored lower-case.' })
  tags?: string[] | null;

  @Field({ description: 'What it does, e.g. image-classification.' })
  task!: string;

  @Field(() => String, { nullable: true, description: 'Default "onnx".' })
  framework?: string | null;

  @Field(() => String, { nullable: true, description: 'Default "proprietary".' })
  license?: string | null;

  @Field(() => String, { nullable: true, description: 'Exact decimal string in USD, e.g. "0.0015"; default "0".' })
  pricePerRequest?: string | null;

  @Field(() => Int, { nullable: true, description: 'Free requests per consumer per calendar month; default 0.' })
  freeRequestsPerMonth?: number | null;

  @Field(() => Int, {
    nullable: true,
    description:
      'Keep predictions’ inputs and outputs at most this many hours after they end (1 to 87,600), if sooner than the deployment would; 0 removes the bound.',
  })
  dataRetentionHours?: number | null;
}

@InputType({ description: 'Fields to change; the ones left out stay as they are.' })
export class UpdateModelInput {
  @Field(() => String, { nullable: true })
  slug?: string | null;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => [String], { nullable: true })
  tags?: string[] | null;

  @Field(() => String, { nullable: true })
  task?: string | null;

  @Field(() => String, { nullable: true })
  framework?: string | null;

  @Field(() => String, { nullable: true })
  license?: string | null;

  @Field(() => String, { nullable: true, description: 'Exact decimal string, e.g. "0.0015".' })
  pricePerRequest?: string | null;

  @Field(() => Int, { nullable: true })
  freeRequestsPerMonth?: number | null;

  @Field(() => Int, {
    nullable: true,
    description:
      'Keep predictions’ inputs and outputs at most this many hours after they end (1 to 87,600), if sooner than the deployment would; 0 removes the bound.',
  })
  dataRetentionHours?: number | null;
}
