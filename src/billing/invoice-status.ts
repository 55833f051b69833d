import { InvoiceStatus } from '../entities/enums.js';

/**
 * How far along its life an invoice is. Stripe delivers webhooks at least once and in no set
 * order (https://docs.stripe.com/webhooks#event-ordering), so an update may only move an invoice
 * forward: an `invoice.finalized` (OPEN) arriving after `invoice.paid` changes nothing. Stripe
 * lets an uncollectible invoice still be paid or voided, so UNCOLLECTIBLE ranks below both;
 * PAID and VOID are final. A failed payment leaves an invoice OPEN (it is OPEN already).
 */
const RANK: Record<InvoiceStatus, number> = {
  [InvoiceStatus.DRAFT]: 0,
  [InvoiceStatus.OPEN]: 1,
  [InvoiceStatus.UNCOLLECTIBLE]: 2,
  [InvoiceStatus.PAID]: 3,
  [InvoiceStatus.VOID]: 3,
};

export function canMoveTo(current: InvoiceStatus, next: InvoiceStatus): boolean {
  return RANK[next] > RANK[current];
}

/** The SQL form of `canMoveTo` for a guarded UPDATE: statuses an invoice may leave for `next`. */
export function statusesBelow(next: InvoiceStatus): InvoiceStatus[] {
  return (Object.keys(RANK) as InvoiceStatus[]).filter((s) => RANK[s] < RANK[next]);
}
