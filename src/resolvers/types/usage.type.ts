import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { UsageGroupBy } from '../../billing/usage.service.js';
import { Money } from './money.type.js';

registerEnumType(UsageGroupBy, {
  name: 'UsageGroupBy',
  description: 'Which breakdown `usage` fills: `byModel` (MODEL) or `byDay` (DAY); both when absent.',
});

@ObjectType()
export class UsageByModel {
  @Field(() => ID)
  modelId!: string;

  @Field()
  modelName!: string;

  @Field()
  modelSlug!: string;

  @Field(() => Int)
  requests!: number;

  @Field(() => Int, { description: 'Requests beyond the free allowance.' })
  billableRequests!: number;

  @Field(() => Money)
  amount!: Money;
}

@ObjectType()
export class UsageByDay {
  @Field({ description: 'UTC day, `YYYY-MM-DD`.' })
  day!: string;

  @Field(() => Int)
  requests!: number;

  @Field(() => Int)
  billableRequests!: number;

  @Field(() => Money)
  amount!: Money;
}

@ObjectType({ description: "The caller's metered usage over `[periodStart, periodEnd)`, exact amounts." })
export class UsageSummary {
  @Field()
  periodStart!: Date;

  @Field({ description: 'Exclusive end.' })
  periodEnd!: Date;

  @Field(() => Int)
  requests!: number;

  @Field(() => Int)
  billableRequests!: number;

  @Field(() => Money)
  amount!: Money;

  @Field(() => [UsageByModel])
  byModel!: UsageByModel[];

  @Field(() => [UsageByDay])
  byDay!: UsageByDay[];
}

export { UsageGroupBy };
