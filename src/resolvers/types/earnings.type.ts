import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Money } from './money.type.js';

@ObjectType()
export class ModelEarnings {
  @Field(() => ID)
  modelId!: string;

  @Field()
  modelName!: string;

  @Field(() => Int)
  requests!: number;

  @Field(() => Int)
  billableRequests!: number;

  @Field(() => Money, { description: 'What consumers paid for this model.' })
  gross!: Money;

  @Field(() => Money)
  platformFee!: Money;

  @Field(() => Money, { description: 'gross − platformFee.' })
  net!: Money;
}

@ObjectType({ description: "A publisher's revenue over `[periodStart, periodEnd)`, exact amounts." })
export class Earnings {
  @Field()
  periodStart!: Date;

  @Field()
  periodEnd!: Date;

  @Field({ description: 'The platform fee in percent, exact decimal (PLATFORM_FEE_PERCENT).' })
  platformFeePercent!: string;

  @Field(() => Money)
  gross!: Money;

  @Field(() => Money)
  platformFee!: Money;

  @Field(() => Money)
  net!: Money;

  @Field(() => [ModelEarnings])
  byModel!: ModelEarnings[];
}
