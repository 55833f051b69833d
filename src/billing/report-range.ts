import { badInput } from '../shared/errors.js';

/** Longest range a report may span: bounds the rows a daily breakdown returns. */
const MAX_RANGE_DAYS = 366;

/**
 * A report's half-open range `[from, to)` in UTC. Defaults to the current calendar month, so a
 * bare `usage` query answers "this month so far".
 */
export function reportRange(from: Date | null | undefined, to: Date | null | undefined, now = new Date()) {
  const start = from ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = to ?? new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) throw badInput('Invalid date range');
  if (end <= start) throw badInput('`to` must be after `from`', { field: 'to' });
  if (end.getTime() - start.getTime() > MAX_RANGE_DAYS * 86_400_000) {
    throw badInput(`A range may span at most ${MAX_RANGE_DAYS} days`, { field: 'to' });
  }
  return { from: start, to: end };
}
