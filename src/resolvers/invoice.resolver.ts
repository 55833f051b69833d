import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { formatInvoiceNumber } from '../billing/invoice-number.js';
import type { InvoiceService } from '../billing/invoice.service.js';
import { formatMoney } from '../billing/money.js';
import { ApiKeyScope, Role } from '../entities/enums.js';
import type { Invoice } from '../entities/invoice.entity.js';
import type { GraphQLContext } from '../graphql/context.js';
import { BillingFailureType, InvoiceConnection, InvoiceLineType, InvoiceType } from './types/invoice.type.js';
import { PageArgs } from './types/page.args.js';

/** What the root fields hand to `Invoice`'s field resolvers: the view plus the row's currency. */
type InvoiceView = Omit<InvoiceType, 'lines'>;

function present(i: Invoice): InvoiceView {
  const money = (amount: string) => ({ amount: formatMoney(amount), currency: i.currency });
  return {
    id: i.id,
    number: formatInvoiceNumber(i.number, i.periodStart),
    periodStart: i.periodStart,
    periodEnd: i.periodEnd,
    status: i.status,
    subtotal: money(i.subtotal),
    total: money(i.total),
    currency: i.currency,
    hostedInvoiceUrl: i.hostedInvoiceUrl ?? null,
    sentToStripe: i.sentToStripe,
    dueAt: i.dueAt ?? null,
    createdAt: i.createdAt,
    paidAt: i.paidAt ?? null,
  };
}

@Resolver(() => InvoiceType)
export class InvoiceResolver {
  constructor(private readonly invoiceService: InvoiceService) {}

  @Authorized(ApiKeyScope.BILLING_READ)
  @Query(() => InvoiceConnection, { description: "The caller's invoices, newest first." })
  async invoices(@Ctx() ctx: GraphQLContext, @Args() page: PageArgs) {
    const result = await this.invoiceService.list(ctx, { first: page.first, after: page.after });
    return {
      edges: result.edges.map((e) => ({ cursor: e.cursor, node: present(e.node) })),
      pageInfo: result.pageInfo,
      // A getter, like the Page's own: the count query runs only when the client asks for it.
      get totalCount() {
        return result.totalCount;
      },
    };
  }

  @Authorized(ApiKeyScope.BILLING_READ)
  @Query(() => InvoiceType, { description: 'One of the caller’s invoices (admins: anyone’s).' })
  async invoice(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<InvoiceView> {
    return present(await this.invoiceService.get(ctx, id));
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => [InvoiceType], {
    description:
      'Builds the invoices of the month starting at `periodStart` (00:00 UTC on the 1st) and sends them to Stripe when configured. Idempotent: running it again returns the same invoices and only retries unsent ones. A consumer whose invoice fails does not stop the others: see `billingFailures`; the next close retries them.',
  })
  // Not one transaction at this boundary on purpose: each consumer's invoice commits on its own
  // (under the numbering lock) and Stripe is called after that commit (invoice.service.ts).
  async closeBillingPeriod(@Ctx() ctx: GraphQLContext, @Arg('periodStart', () => Date) periodStart: Date) {
    return (await this.invoiceService.closeBillingPeriod(ctx, periodStart)).map(present);
  }

  @Authorized(Role.ADMIN)
  @Query(() => [BillingFailureType], {
    description: 'Admins: the consumers whose invoice for the month could not be made yet, and why (none once it was).',
  })
  async billingFailures(
    @Ctx() ctx: GraphQLContext,
    @Arg('periodStart', () => Date) periodStart: Date,
  ): Promise<BillingFailureType[]> {
    return (await this.invoiceService.failures(ctx, periodStart)).map((f) => ({
      userId: f.user.id,
      periodStart: f.periodStart,
      stage: f.stage,
      code: f.code,
      message: f.message,
      attempts: f.attempts,
      firstFailedAt: f.firstFailedAt,
      lastFailedAt: f.lastFailedAt,
    }));
  }

  @FieldResolver(() => [InvoiceLineType])
  async lines(@Root() invoice: InvoiceView, @Ctx() ctx: GraphQLContext): Promise<InvoiceLineType[]> {
    const money = (amount: string) => ({ amount: formatMoney(amount), currency: invoice.currency });
    return (await this.invoiceService.lines(ctx, invoice.id)).map((l) => ({
      id: l.id,
      modelId: l.model.id,
      versionId: l.version.id,
      description: l.description,
      requests: l.requests,
      freeRequests: l.freeRequests,
      billableRequests: l.billableRequests,
      unitPrice: money(l.unitPrice),
      amount: money(l.amount),
    }));
  }
}
