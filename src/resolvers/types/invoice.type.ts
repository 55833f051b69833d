import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { InvoiceStatus } from '../../entities/enums.js';
import { connectionOf } from './connection.js';
import { Money } from './money.type.js';

registerEnumType(InvoiceStatus, {
  name: 'InvoiceStatus',
  description:
    'DRAFT while being sent to Stripe; OPEN final and due; PAID; VOID; UNCOLLECTIBLE. Statuses only move forward.',
});

@ObjectType({ description: 'Usage of one model version at one price within the invoice.' })
export class InvoiceLineType {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  modelId!: string;

  @Field(() => ID)
  versionId!: string;

  @Field({ description: 'Model name and version.' })
  description!: string;

  @Field(() => Int)
  requests!: number;

  @Field(() => Int)
  freeRequests!: number;

  @Field(() => Int)
  billableRequests!: number;

  @Field(() => Money)
  unitPrice!: Money;

  @Field(() => Money)
  amount!: Money;
}

@ObjectType('Invoice', { description: "One consumer's usage for one calendar month (UTC)." })
export class InvoiceType {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'e.g. `MM-2026-000123`: one gap-free series.' })
  number!: string;

  @Field({ description: 'First day of the month, `YYYY-MM-DD`.' })
  periodStart!: string;

  @Field({ description: 'Last day of the month, `YYYY-MM-DD` (inclusive).' })
  periodEnd!: string;

  @Field(() => InvoiceStatus)
  status!: InvoiceStatus;

  @Field(() => [InvoiceLineType])
  lines!: InvoiceLineType[];

  @Field(() => Money)
  subtotal!: Money;

  @Field(() => Money)
  total!: Money;

  @Field()
  currency!: string;

  @Field(() => String, { nullable: true, description: "Stripe's payment page; null while not sent to Stripe." })
  hostedInvoiceUrl!: string | null;

  @Field({ description: 'False when billing runs without Stripe (or sending is still pending).' })
  sentToStripe!: boolean;

  @Field(() => Date, { nullable: true })
  dueAt!: Date | null;

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  paidAt!: Date | null;
}

export const InvoiceConnection = connectionOf(InvoiceType, 'Invoice');

@ObjectType('BillingFailure', {
  description:
    "A consumer whose invoice for a period could not be made by `closeBillingPeriod`; the others' were. The next close retries it.",
})
export class BillingFailureType {
  @Field(() => ID)
  userId!: string;

  @Field({ description: 'First day of the month, `YYYY-MM-DD`.' })
  periodStart!: string;

  @Field({ description: 'BUILD (the invoice could not be made) or SEND (the payments provider refused it).' })
  stage!: string;

  @Field({ description: 'A stable code for the cause, e.g. INTERNAL or a Stripe error code.' })
  code!: string;

  @Field()
  message!: string;

  @Field(() => Int, { description: 'Closes that failed for this consumer and period.' })
  attempts!: number;

  @Field()
  firstFailedAt!: Date;

  @Field()
  lastFailedAt!: Date;
}
