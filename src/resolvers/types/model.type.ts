import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { connectionOf } from './connection.js';

@ObjectType('Model', { description: 'A model on the marketplace: its versions, pricing and reviews.' })
export class ModelType {
  @Field(() => ID)
  id!: string;

  @Field()
  slug!: string;

  @Field()
  name!: string;

  @Field()
  description!: string;

  @Field(() => [String])
  tags!: string[];

  @Field({ description: 'What it does, e.g. image-classification.' })
  task!: string;

  @Field()
  framework!: string;

  @Field()
  license!: string;

  @Field(() => Float, { nullable: true, description: 'Mean rating of visible reviews; null without reviews.' })
  ratingAverage!: number | null;

  @Field(() => Int)
  ratingCount!: number;

  @Field(() => Float, { description: 'Succeeded predictions, all time.' })
  predictionCount!: number;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;

  @Field(() => Date, { nullable: true, description: 'Set when the owner deleted it (visible to the owner only).' })
  deletedAt!: Date | null;

  @Field(() => Int, {
    nullable: true,
    description:
      'Predictions’ tensors are kept at most this many hours after they end; null: the deployment’s retention.',
  })
  dataRetentionHours?: number | null;
}

export const ModelConnection = connectionOf(ModelType, 'Model');
