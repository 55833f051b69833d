import Stripe from 'stripe';
import { InvoiceStatus } from '../../entities/enums.js';
import { fromUnits, toUnits } from '../money.js';
import type { InvoiceToSend, PaymentsGateway, SentInvoice } from '../payments.types.js';

/** Stripe's invoice statuses in ours (`draft` stays DRAFT until finalised). */
export function fromStripeStatus(status: Stripe.Invoice.Status | null | undefined): InvoiceStatus {
  switch (status) {
    case 'open':
      return InvoiceStatus.OPEN;
    case 'paid':
      return InvoiceStatus.PAID;
    case 'void':
      return InvoiceStatus.VOID;
    case 'uncollectible':
      return InvoiceStatus.UNCOLLECTIBLE;
    default:
      return InvoiceStatus.DRAFT;
  }
}

/** Our unit price (currency units, up to 10 decimals) as Stripe's `unit_amount_decimal` (cents). */
export function toStripeUnitAmountDecimal(unitPrice: string): string {
  return fromUnits(toUnits(unitPrice) * 100n);
}

/**
 * Bills our invoices through Stripe as invoice items on a one-off invoice (see README.md for why
 * not Billing Meters). Every write carries an Idempotency-Key made from our own ids, so running
 * this again for the same invoice — after a crash, or from a concurrent close — returns the same
 * Stripe objects instead of making new ones.
 */
export class StripePaymentsService implements PaymentsGateway {
  constructor(
    private readonly stripe: Stripe,
    private readonly options: { daysUntilDue: number },
  ) {}

  async sendInvoice(
    invoice: InvoiceToSend,
    onCreated: (stripeInvoiceId: string) => Promise<void>,
  ): Promise<SentInvoice> {
    const currency = invoice.currency.toLowerCase();
    const customerId = invoice.customer.stripeCustomerId ?? (await this.createCustomer(invoice.customer));
    const metadata = { invoiceId: invoice.invoiceId, invoiceNumber: invoice.number };

    const draft = await this.stripe.invoices.create(
      {
        customer: customerId,
        currency,
        collection_method: 'send_invoice',
        days_until_due: this.options.daysUntilDue,
        // Only the items made below, never stray pending items of the customer.
        pending_invoice_items_behavior: 'exclude',
        auto_advance: false,
        description: `Model Marketplace usage ${invoice.periodStart} – ${invoice.periodEnd} (${invoice.number})`,
        metadata,
      },
      { idempotencyKey: `mm-invoice-${invoice.invoiceId}` },
    );
    if (!draft.id) throw new Error('Stripe returned an invoice without an id');
    await onCreated(draft.id);

    const start = Math.floor(Date.parse(`${invoice.periodStart}T00:00:00Z`) / 1000);
    const end = Math.floor(Date.parse(`${invoice.periodEnd}T23:59:59Z`) / 1000);
    for (const line of invoice.lines) {
      // Free-only lines cost nothing; our own invoice shows them, Stripe's need not.
      if (line.billableRequests === 0) continue;
      await this.stripe.invoiceItems.create(
        {
          customer: customerId,
          invoice: draft.id,
          currency,
          description: line.description,
          quantity: line.billableRequests,
          // Sub-cent prices: Stripe multiplies and rounds to the cent once, on the line's total.
          unit_amount_decimal: Stripe.Decimal.from(toStripeUnitAmountDecimal(line.unitPrice)),
          period: { start, end },
          metadata: { ...metadata, invoiceLineId: line.id },
        },
        { idempotencyKey: `mm-invoice-item-${line.id}` },
      );
    }

    const final =
      draft.status === 'draft'
        ? await this.stripe.invoices.finalizeInvoice(
            draft.id,
            { auto_advance: true },
            { idempotencyKey: `mm-invoice-finalize-${invoice.invoiceId}` },
          )
        : draft;
    return {
      stripeCustomerId: customerId,
      stripeInvoiceId: draft.id,
      hostedInvoiceUrl: final.hosted_invoice_url ?? null,
      status: fromStripeStatus(final.status),
      finalizedAt: final.status_transitions?.finalized_at
        ? new Date(final.status_transitions.finalized_at * 1000)
        : null,
      dueAt: final.due_date ? new Date(final.due_date * 1000) : null,
    };
  }

  private async createCustomer(customer: InvoiceToSend['customer']): Promise<string> {
    const created = await this.stripe.customers.create(
      { email: customer.email, name: customer.name, metadata: { userId: customer.userId } },
      { idempotencyKey: `mm-customer-${customer.userId}` },
    );
    return created.id;
  }
}
