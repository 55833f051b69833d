import { Field, ObjectType } from 'type-graphql';
import { Money } from './money.type.js';
import { connectionOf } from './connection.js';
import { UserType } from './user.type.js';

@ObjectType({
  description:
    "A consumer's monthly spending cap and this month's figures against it. A request is accepted only if its full price fits in `remaining` (a queued job holds it, as `reserved`, until it ends).",
})
export class SpendingCap {
  @Field(() => Money, { description: 'The cap: at most this much is billed per calendar month (UTC).' })
  limit!: Money;

  @Field(() => Money, { description: "What this month's metered predictions cost." })
  spent!: Money;

  @Field(() => Money, { description: 'What queued jobs accepted under the cap hold until they end.' })
  reserved!: Money;

  @Field(() => Money, { description: 'limit − spent − reserved (never below 0).' })
  remaining!: Money;

  @Field({ description: 'First day of the month these figures are for, `YYYY-MM-DD`.' })
  periodStart!: string;
}

export const CappedUserConnection = connectionOf(UserType, 'CappedUser');
