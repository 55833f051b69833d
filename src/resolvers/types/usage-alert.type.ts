import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Money } from './money.type.js';

@InputType('UsageAlertInput', { description: 'Exactly one of percentOfCap and amount.' })
export class UsageAlertInput {
  @Field(() => Int, { nullable: true, description: '1 to 100: a share of your monthly spending cap.' })
  percentOfCap?: number | null;

  @Field(() => String, { nullable: true, description: 'An exact decimal amount, e.g. "25.00".' })
  amount?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Also POST a `usage.alert` event here (Standard Webhooks, signed with your webhook secret).',
  })
  webhookUrl?: string | null;
}

@ObjectType('UsageAlert', {
  description:
    "A threshold on your month's spend (UTC): when the spend reaches it, it fires once that month — a `usageAlert` event, a mail, and the webhook if set.",
})
export class UsageAlertType {
  @Field(() => ID)
  id!: string;

  @Field(() => Int, { nullable: true })
  percentOfCap?: number | null;

  @Field(() => Money, { nullable: true })
  amount?: Money | null;

  @Field(() => String, { nullable: true })
  webhookUrl?: string | null;

  @Field()
  createdAt!: Date;
}

@ObjectType('UsageAlertEvent', { description: 'One of your usage alerts fired.' })
export class UsageAlertEventType {
  @Field(() => ID)
  alertId!: string;

  @Field({ description: 'The month, as its first day (YYYY-MM-01, UTC).' })
  periodStart!: string;

  @Field(() => Money, { description: 'The threshold as an amount when it fired.' })
  threshold!: Money;

  @Field(() => Money, { description: "The month's spend that crossed it." })
  spent!: Money;

  @Field(() => Int, { nullable: true })
  percentOfCap?: number | null;

  @Field()
  at!: Date;
}
