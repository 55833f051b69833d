import { AuthFailure, forbidden } from '../auth/auth.errors.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import { InvoiceStatus, PredictionMode, PredictionStatus } from '../entities/enums.js';
import { overdueInvoice, priceAboveMaximum, spendCapReached } from './billing.errors.js';
import { periodStartOf } from './billing-period.js';
import { formatInvoiceNumber } from './invoice-number.js';
import { addMoney, compareMoney, formatMoney } from './money.js';
import { COMPLETE_SUCCEEDED_SQL } from './complete-succeeded.sql.js';
import type {
  Acceptance,
  CompletedCost,
  CompletedRun,
  Metering,
  RecordedCost,
  SucceededRun,
} from './metering.types.js';
import { RECORD_SUCCEEDED_SQL } from './record-succeeded.sql.js';
import { ACCEPTANCE_SQL, ENSURE_MONTH_SQL, RELEASE_SQL, RESERVE_SQL } from './spend-cap.sql.js';
import { shareInFlight } from '../shared/in-flight.js';
import { notFound } from '../shared/errors.js';
import { PreparedStatement } from '../db/prepared-statement.js';

type AcceptanceRow = {
  cap: string | null;
  verified: boolean;
  spent: string | null;
  reserved: string | null;
  overdue: string | null;
  price: string | null;
  allowance: number | null;
  currency: string | null;
};

type RecordedRow = Omit<RecordedCost, 'refusal'> & {
  refusedCap: string | null;
  refusedSpent: string | null;
  refusedReserved: string | null;
};

// Prepared once per connection: these run once per prediction (or group of them), where planning
// was a large share of their time (src/db/prepared-statement.ts).
const ACCEPTANCE = new PreparedStatement<AcceptanceRow>('mm_acceptance_v2', ACCEPTANCE_SQL);
const RECORD_SUCCEEDED = new PreparedStatement<RecordedRow>('mm_record_succeeded_v2', RECORD_SUCCEEDED_SQL);
const COMPLETE_SUCCEEDED = new PreparedStatement<Omit<CompletedCost, 'completedAt'> & { completedAt: Date | string }>(
  'mm_complete_succeeded_v2',
  COMPLETE_SUCCEEDED_SQL,
);

export type MeteringOptions = {
  blockOverdue: boolean;
  /** PRICE_PER_REQUEST_MAX: a model priced above it (from before the limit) is not run. */
  maxPricePerRequest?: string;
  /** EMAIL_VERIFICATION=required: an unconfirmed address may run free models only. */
  requireVerifiedEmail?: boolean;
  now?: () => Date;
};

/**
 * Billing's side of the prediction path (the `Metering` seam in metering.types.ts): acceptance
 * (the pricing a request is billed at, and the checks that refuse it), the spending cap's
 * reservations for queued jobs, and exactly one usage record per succeeded prediction, written by
 * the statement that makes it SUCCEEDED (one statement per group of predictions: group commit).
 *
 * The cap is exact under concurrency: a queued job holds its price against it when accepted
 * (a conditional upsert of the consumer's month row), and a synchronous prediction is admitted
 * against it in the statement that meters it (record-succeeded.sql.ts). The check at acceptance
 * is there to refuse early — before any compute — what cannot fit.
 */
export class MeteringService implements Metering {
  private readonly acceptanceReads = new Map<string, Promise<AcceptanceRow | undefined>>();

  constructor(private readonly options: MeteringOptions) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  async accept(em: EntityManager, consumerId: string, modelId: string): Promise<Acceptance> {
    const acceptedAt = this.now();
    const periodStart = periodStartOf(acceptedAt);
    const row = await this.acceptanceRow(em, consumerId, modelId, periodStart);
    if (!row || row.price === null) throw notFound('Model');
    const acceptance: Acceptance = {
      unitPrice: formatMoney(row.price),
      freeAllowance: row.allowance ?? 0,
      currency: row.currency ?? 'USD',
      capped: row.cap !== null,
      acceptedAt,
      periodStart,
    };
    const max = this.options.maxPricePerRequest;
    if (max !== undefined && compareMoney(acceptance.unitPrice, max) > 0) {
      throw priceAboveMaximum(acceptance.unitPrice, formatMoney(max), acceptance.currency);
    }
    if (this.options.requireVerifiedEmail && !row.verified && compareMoney(acceptance.unitPrice, '0') > 0) {
      throw forbidden(AuthFailure.EMAIL_NOT_VERIFIED);
    }
    if (this.options.blockOverdue && row.overdue) {
      const [number, invoicePeriod] = row.overdue.split('|') as [string, string];
      throw overdueInvoice(formatInvoiceNumber(Number(number), invoicePeriod));
    }
    if (row.cap !== null && compareMoney(acceptance.unitPrice, '0') > 0) {
      const spent = formatMoney(row.spent ?? '0');
      const reserved = formatMoney(row.reserved ?? '0');
      if (compareMoney(addMoney(spent, reserved, acceptance.unitPrice), row.cap) > 0) {
        throw spendCapReached(formatMoney(row.cap), spent, reserved, acceptance.currency);
      }
    }
    return acceptance;
  }

  /**
   * ACCEPTANCE_SQL, shared by concurrent callers: while one read for a (consumer, model, month)
   * is in flight, others for the same key wait for it instead of sending their own. Under load a
   * consumer's 64 concurrent predictions then cost one query per round trip rather than 64 that
   * queue for the connection pool. The answer is as fresh as one read at the moment the first
   * caller asked, give or take that round trip: that read's pricing is the one in force when
   * these requests were accepted. A capped consumer's month row is made here when missing, so
   * that the metering statement always finds it to lock (record-succeeded.sql.ts).
   */
  private acceptanceRow(
    em: EntityManager,
    consumerId: string,
    modelId: string,
    period: string,
  ): Promise<AcceptanceRow | undefined> {
    return shareInFlight(this.acceptanceReads, `${consumerId}|${modelId}|${period}`, async () => {
      const [row] = await ACCEPTANCE.run(em, [InvoiceStatus.OPEN, period, modelId, consumerId]);
      if (row && row.cap !== null && row.spent === null) await em.execute(ENSURE_MONTH_SQL, [consumerId, period]);
      return row;
    });
  }

  async reserve(em: EntityManager, consumerId: string, acceptance: Acceptance): Promise<string | null> {
    if (!acceptance.capped || compareMoney(acceptance.unitPrice, '0') === 0) return null;
    const price = acceptance.unitPrice;
    const [held] = await em.execute<{ spent: string; reserved: string }[]>(RESERVE_SQL, [
      consumerId,
      acceptance.periodStart,
      price,
      price,
    ]);
    if (held) return price;
    const [now] = await em.execute<{ cap: string | null; spent: string | null; reserved: string | null }[]>(
      `select u.monthly_spend_cap::text as cap, ms.spent::text as spent, ms.reserved::text as reserved
       from users u left join monthly_spend ms on ms.user_id = u.id and ms.period_start = ? where u.id = ?`,
      [acceptance.periodStart, consumerId],
    );
    throw spendCapReached(
      formatMoney(now?.cap ?? '0'),
      formatMoney(now?.spent ?? '0'),
      formatMoney(now?.reserved ?? '0'),
      acceptance.currency,
    );
  }

  async release(em: EntityManager, predictionId: string): Promise<void> {
    await this.releaseMany(em, [predictionId]);
  }

  async releaseMany(em: EntityManager, predictionIds: readonly string[]): Promise<void> {
    if (predictionIds.length) await em.execute(RELEASE_SQL, [`{${predictionIds.join(',')}}`]);
  }

  /** See RECORD_SUCCEEDED_SQL: one statement, its own commit, whatever the number of runs. */
  async recordSucceeded(em: EntityManager, runs: readonly SucceededRun[]): Promise<RecordedCost[]> {
    if (runs.length === 0) return [];
    // A capped run that started last month and finishes in this one meets a month row that
    // acceptance did not make: make it first, so the statement can lock it.
    for (const r of runs) {
      const period = periodStartOf(r.completedAt);
      if (r.pricing.capped && period !== r.pricing.periodStart) await em.execute(ENSURE_MONTH_SQL, [r.userId, period]);
    }
    const rows = runs.map((r, ord) => ({
      id: r.id,
      user_id: r.userId,
      api_key_id: r.apiKeyId,
      model_id: r.modelId,
      version_id: r.versionId,
      device: r.device,
      batch_size: r.batchSize,
      started_at: r.startedAt.toISOString(),
      completed_at: r.completedAt.toISOString(),
      queue_time_ms: r.queueTimeMs,
      inference_time_ms: r.inferenceTimeMs,
      period_start: periodStartOf(r.completedAt),
      ord,
      price: r.pricing.unitPrice,
      allowance: r.pricing.freeAllowance,
      currency: r.pricing.currency,
    }));
    const recorded = await RECORD_SUCCEEDED.run(em, [
      JSON.stringify(rows),
      PredictionMode.SYNC,
      PredictionStatus.SUCCEEDED,
    ]);
    return recorded.map(({ refusedCap, refusedSpent, refusedReserved, ...cost }) =>
      refusedCap === null
        ? cost
        : {
            ...cost,
            refusal: {
              cap: formatMoney(refusedCap),
              spent: formatMoney(refusedSpent ?? '0'),
              reserved: formatMoney(refusedReserved ?? '0'),
            },
          },
    );
  }

  /** See COMPLETE_SUCCEEDED_SQL: one statement, its own commit, whatever the number of runs. */
  async completeSucceeded(em: EntityManager, runs: readonly CompletedRun[]): Promise<CompletedCost[]> {
    if (runs.length === 0) return [];
    const rows = runs.map((r, ord) => ({
      id: r.id,
      outputs: r.outputs,
      device: r.device,
      batch_size: r.batchSize,
      inference_time_ms: r.inferenceTimeMs,
      completed_at: r.completedAt.toISOString(),
      period_start: periodStartOf(r.completedAt),
      ord,
    }));
    const done = await COMPLETE_SUCCEEDED.run(em, [
      JSON.stringify(rows),
      PredictionStatus.RUNNING,
      PredictionStatus.SUCCEEDED,
    ]);
    return done.map((d) => ({ ...d, completedAt: new Date(d.completedAt) }));
  }
}
