import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'An exact amount of money: never a float.' })
export class Money {
  @Field({ description: 'Exact decimal as a string, e.g. "0.0015" or "12.50".' })
  amount!: string;

  @Field({ description: 'ISO 4217 code, e.g. "USD".' })
  currency!: string;
}

@ObjectType()
export class Pricing {
  @Field(() => Money)
  pricePerRequest!: Money;

  @Field(() => Int, { description: 'Requests per consumer per calendar month (UTC) that cost nothing.' })
  freeRequestsPerMonth!: number;

  @Field({
    description:
      'When this pricing took effect. A prediction is billed at the pricing in force when it was accepted (a queued job: when it was created), so a change applies to later requests only.',
  })
  effectiveFrom!: Date;
}
