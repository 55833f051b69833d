import type { InvoiceStatus } from '../entities/enums.js';

/** What the payments side needs to bill one of our invoices. */
export type InvoiceToSend = {
  invoiceId: string;
  number: string;
  periodStart: string;
  periodEnd: string;
  currency: string;
  customer: { userId: string; email: string; name: string; stripeCustomerId: string | null };
  lines: { id: string; description: string; billableRequests: number; unitPrice: string; amount: string }[];
};

export type SentInvoice = {
  stripeCustomerId: string;
  stripeInvoiceId: string;
  hostedInvoiceUrl: string | null;
  status: InvoiceStatus;
  finalizedAt: Date | null;
  dueAt: Date | null;
};

/**
 * The payments seam (ARCHITECTURE_SKETCH.md): Stripe when configured (src/billing/stripe/),
 * otherwise none and invoices stay local (`sentToStripe: false`). Implementations must be safe
 * to call again for the same invoice: a crash between two calls is retried by the next
 * `closeBillingPeriod`.
 */
export interface PaymentsGateway {
  /** Called as soon as the remote invoice exists, before its items: webhooks can then find it. */
  sendInvoice(invoice: InvoiceToSend, onCreated: (stripeInvoiceId: string) => Promise<void>): Promise<SentInvoice>;
}
