import type { EntityManager } from '@mikro-orm/postgresql';
import Stripe from 'stripe';
import { InvoiceStatus } from '../../entities/enums.js';
import { Invoice } from '../../entities/invoice.entity.js';
import { statusesBelow } from '../invoice-status.js';

/** The invoice events we act on, and the status each one means. */
const STATUS_BY_EVENT: Partial<Record<string, InvoiceStatus>> = {
  'invoice.finalized': InvoiceStatus.OPEN,
  'invoice.payment_failed': InvoiceStatus.OPEN,
  'invoice.paid': InvoiceStatus.PAID,
  'invoice.voided': InvoiceStatus.VOID,
  'invoice.marked_uncollectible': InvoiceStatus.UNCOLLECTIBLE,
};

export type WebhookOutcome = 'processed' | 'duplicate' | 'ignored';

/**
 * Applies verified Stripe events to our invoices (Vendure's StripeService + controller split:
 * the HTTP route verifies, this decides). Each event is handled once: its id is inserted into
 * `stripe_events` in the same transaction as the change, so a redelivery finds it and stops, and
 * a crash mid-way leaves neither (Stripe then retries). Order does not matter: a status only moves
 * forward (invoice-status.ts), so a late `invoice.finalized` cannot reopen a paid invoice.
 */
export class StripeWebhookService {
  constructor(
    private readonly stripe: Stripe,
    /** STRIPE_WEBHOOK_TOLERANCE_SECONDS: how far the signed timestamp may be from now, either way. */
    private readonly toleranceSeconds = 300,
  ) {}

  /**
   * Verifies the signature (throws Stripe's StripeSignatureVerificationError when it is wrong) and
   * the signed timestamp: the SDK refuses one too old but takes any in the future, and an event
   * signed ahead of time would be replayable until long after it was sent.
   */
  verify(rawBody: Buffer, signature: string, secret: string, now = new Date()): Stripe.Event {
    const event = this.stripe.webhooks.constructEvent(
      rawBody,
      signature,
      secret,
      this.toleranceSeconds,
      undefined,
      now.getTime(),
    );
    const signedAt = signature
      .split(',')
      .map((part) => /^t=(\d+)$/.exec(part.trim())?.[1])
      .filter((t): t is string => t !== undefined)
      .map(Number);
    const nowSeconds = Math.floor(now.getTime() / 1000);
    if (signedAt.length === 0 || signedAt.some((t) => t - nowSeconds > this.toleranceSeconds)) {
      throw new Stripe.errors.StripeSignatureVerificationError(signature, rawBody.toString('utf8'), {
        message: 'Timestamp outside the tolerance zone (in the future)',
      });
    }
    return event;
  }

  async handle(em: EntityManager, event: Stripe.Event): Promise<WebhookOutcome> {
    return em.transactional(async (tx) => {
      const inserted = await tx.execute<{ id: string }[]>(
        `insert into stripe_events (id, type, event_created_at, processed_at) values (?, ?, ?, now())
         on conflict (id) do nothing returning id`,
        [event.id, event.type, new Date(event.created * 1000)],
      );
      if (inserted.length === 0) return 'duplicate';
      const next = STATUS_BY_EVENT[event.type];
      if (!next || !event.type.startsWith('invoice.')) return 'ignored';
      const remote = event.data.object as Stripe.Invoice;
      if (!remote.id) return 'ignored';
      const invoice =
        (await tx.findOne(Invoice, { stripeInvoiceId: remote.id })) ??
        (typeof remote.metadata?.invoiceId === 'string' && /^[0-9a-f-]{36}$/i.test(remote.metadata.invoiceId)
          ? await tx.findOne(Invoice, { id: remote.metadata.invoiceId })
          : null);
      if (!invoice) return 'ignored';
      // Facts that only grow: take them whatever the order.
      if (remote.hosted_invoice_url && !invoice.hostedInvoiceUrl) invoice.hostedInvoiceUrl = remote.hosted_invoice_url;
      if (!invoice.stripeInvoiceId) invoice.stripeInvoiceId = remote.id;
      if (remote.due_date && !invoice.dueAt) invoice.dueAt = new Date(remote.due_date * 1000);
      const finalizedAt = remote.status_transitions?.finalized_at;
      if (finalizedAt && !invoice.finalizedAt) invoice.finalizedAt = new Date(finalizedAt * 1000);
      await tx.flush();
      // The status: a guarded UPDATE, so a concurrent event for the same invoice cannot move it back.
      const paidAt = remote.status_transitions?.paid_at ?? event.created;
      await tx.nativeUpdate(
        Invoice,
        { id: invoice.id, status: { $in: statusesBelow(next) } },
        { status: next, ...(next === InvoiceStatus.PAID ? { paidAt: new Date(paidAt * 1000) } : {}) },
      );
      return 'processed';
    });
  }
}
