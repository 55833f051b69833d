/**
 * Invoices are numbered 1, 2, 3… in one gap-free series (src/billing/invoice.service.ts assigns
 * them under a lock) and shown as `MM-<year of the period>-<number, 6 digits>`.
 */
export function formatInvoiceNumber(number: number, periodStart: string): string {
  return `MM-${periodStart.slice(0, 4)}-${String(number).padStart(6, '0')}`;
}
