import { badInput } from '../shared/errors.js';

/**
 * Billing periods are UTC calendar months, named by their first day as `YYYY-MM-DD` (the form
 * PostgreSQL's `date` columns take and return).
 */
export function periodStartOf(at: Date): string {
  return `${at.getUTCFullYear()}-${String(at.getUTCMonth() + 1).padStart(2, '0')}-01`;
}

/** First day of the month after `periodStart`. */
export function nextPeriodStart(periodStart: string): string {
  const [y, m] = periodStart.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
}

/** Last day of the month that starts at `periodStart` (invoices' inclusive `periodEnd`). */
export function periodEndOf(periodStart: string): string {
  const next = new Date(`${nextPeriodStart(periodStart)}T00:00:00Z`);
  return new Date(next.getTime() - 86_400_000).toISOString().slice(0, 10);
}

/** Validates a client's period: a Date (or date string) on the first day of a UTC month. */
export function parsePeriodStart(value: Date | string): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) throw badInput('`periodStart` is not a date', { field: 'periodStart' });
  const start = periodStartOf(date);
  if (date.getTime() !== new Date(`${start}T00:00:00Z`).getTime()) {
    throw badInput('`periodStart` must be the first day of a month, 00:00 UTC', { field: 'periodStart' });
  }
  return start;
}
