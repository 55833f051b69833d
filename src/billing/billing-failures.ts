import type { EntityManager } from '@mikro-orm/postgresql';
import { BillingFailure } from '../entities/billing-failure.entity.js';
import { AppError } from '../shared/errors.js';

export enum BillingStage {
  /** The invoice could not be built from the consumer's usage. */
  BUILD = 'BUILD',
  /** The invoice was built but the payments provider did not take it. */
  SEND = 'SEND',
}

/** A stable code for what went wrong: an AppError's code, Stripe's error code, or INTERNAL. */
function codeOf(err: unknown): string {
  if (err instanceof AppError) return err.code;
  const e = err as { code?: unknown; type?: unknown };
  if (typeof e?.code === 'string' && /^[\w.-]{1,64}$/.test(e.code)) return e.code;
  if (typeof e?.type === 'string' && /^[\w.-]{1,64}$/.test(e.type)) return e.type;
  return 'INTERNAL';
}

/**
 * Remembers that a consumer's invoice for a period failed at `stage` (one row per consumer and
 * period; a repeated failure bumps `attempts`). Written on its own, outside the failed work's
 * transaction, which has rolled back.
 */
export async function recordBillingFailure(
  em: EntityManager,
  failure: { userId: string; periodStart: string; stage: BillingStage; err: unknown; at: Date },
): Promise<void> {
  const message = (failure.err instanceof Error ? failure.err.message : String(failure.err)).slice(0, 2000);
  await em.execute(
    `insert into billing_failures (user_id, period_start, stage, code, message, attempts, first_failed_at, last_failed_at)
     values (?, ?, ?, ?, ?, 1, ?, ?)
     on conflict (user_id, period_start) do update set stage = excluded.stage, code = excluded.code,
       message = excluded.message, attempts = billing_failures.attempts + 1, last_failed_at = excluded.last_failed_at`,
    [failure.userId, failure.periodStart, failure.stage, codeOf(failure.err), message, failure.at, failure.at],
  );
}

/** The consumer's invoice for the period is done: whatever failed before no longer stands. */
export async function clearBillingFailure(em: EntityManager, userId: string, periodStart: string): Promise<void> {
  await em.nativeDelete(BillingFailure, { user: userId, periodStart });
}

/** The failures that still stand for a period, the most recent first. */
export function billingFailuresOf(em: EntityManager, periodStart: string): Promise<BillingFailure[]> {
  return em.find(BillingFailure, { periodStart }, { orderBy: { lastFailedAt: 'desc' } });
}
