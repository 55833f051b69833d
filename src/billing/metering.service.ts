import type { EntityManager } from '@mikro-orm/postgresql';
import { InvoiceStatus, PredictionMode, PredictionStatus } from '../entities/enums.js';
import type { Model } from '../entities/model.entity.js';
import { overdueInvoice, spendCapReached } from './billing.errors.js';
import { periodStartOf } from './billing-period.js';
import { formatInvoiceNumber } from './invoice-number.js';
import { addMoney, compareMoney, formatMoney } from './money.js';
import { COMPLETE_SUCCEEDED_SQL } from './complete-succeeded.sql.js';
import type { CompletedCost, CompletedRun, Metering, RecordedCost, SucceededRun } from './metering.types.js';
import { RECORD_SUCCEEDED_SQL } from './record-succeeded.sql.js';
import { shareInFlight } from '../shared/in-flight.js';
import { PreparedStatement } from '../db/prepared-statement.js';

/**
 * What the consumer has spent this month (one counter row per model used: a handful of rows,
 * never a scan of usage), whether the next request on `model` is still free, the cap, and the
 * oldest unpaid invoice past its due date.
 */
const LIMITS_SQL = `
select
  u.monthly_spend_cap::text as cap,
  (select coalesce(sum(amount), 0)::text from usage_counters where user_id = u.id and period_start = ?) as spent,
  (select coalesce(max(requests), 0) from usage_counters
     where user_id = u.id and model_id = ? and period_start = ?) as used,
  (select i.number || '|' || i.period_start::text from invoices i
     where i.user_id = u.id and i.status = ? and i.due_at < now()
     order by i.due_at limit 1) as overdue
from users u where u.id = ?`;

type LimitsRow = { cap: string | null; spent: string; used: number; overdue: string | null };

// Prepared once per connection: these run once per prediction (or group of them), where planning
// was a large share of their time (src/db/prepared-statement.ts).
const LIMITS = new PreparedStatement<LimitsRow>('mm_limits_v1', LIMITS_SQL);
const RECORD_SUCCEEDED = new PreparedStatement<RecordedCost>('mm_record_succeeded_v1', RECORD_SUCCEEDED_SQL);
const COMPLETE_SUCCEEDED = new PreparedStatement<RecordedCost & { completedAt: Date | string }>(
  'mm_complete_succeeded_v1',
  COMPLETE_SUCCEEDED_SQL,
);

/**
 * Billing's side of the prediction path (the `Metering` seam in metering.types.ts): quota checks
 * before inference, and exactly one usage record per succeeded prediction, written by the
 * statement that makes it SUCCEEDED (one statement per group of predictions: group commit).
 */
export class MeteringService implements Metering {
  private readonly limitReads = new Map<string, Promise<LimitsRow | undefined>>();

  constructor(private readonly options: { blockOverdue: boolean; now?: () => Date }) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /**
   * Refuses (QUOTA_EXCEEDED) when the request would take the consumer past their monthly cap —
   * a request still inside the model's free allowance costs nothing and passes — or, when
   * BILLING_BLOCK_OVERDUE is on, when they have an OPEN invoice past its due date. Concurrent
   * requests can each pass the check and together overshoot the cap by at most their number
   * times the price: the cap is a brake, not a ledger (the ledger is the usage records).
   */
  async assertMayRun(em: EntityManager, consumerId: string, model: Model): Promise<void> {
    const period = periodStartOf(this.now());
    const row = await this.limits(em, consumerId, model.id, period);
    if (!row) return;
    if (this.options.blockOverdue && row.overdue) {
      const [number, periodStart] = row.overdue.split('|') as [string, string];
      throw overdueInvoice(formatInvoiceNumber(Number(number), periodStart));
    }
    if (row.cap === null) return;
    const nextIsFree = Number(row.used) < model.freeRequestsPerMonth;
    const spent = formatMoney(row.spent);
    if (
      compareMoney(spent, row.cap) >= 0 ||
      (!nextIsFree && compareMoney(addMoney(spent, model.pricePerRequest), row.cap) > 0)
    ) {
      throw spendCapReached(formatMoney(row.cap), spent, model.currency);
    }
  }

  /**
   * LIMITS_SQL, shared by concurrent callers: while one read for a (consumer, model, month) is in
   * flight, others for the same key wait for it instead of sending their own. Under load a
   * consumer's 64 concurrent predictions then cost one query per round trip rather than 64 that
   * queue for the connection pool. The answer is as fresh as one read at the moment the first
   * caller asked, which is what each caller got before anyway, give or take that round trip.
   */
  private limits(
    em: EntityManager,
    consumerId: string,
    modelId: string,
    period: string,
  ): Promise<LimitsRow | undefined> {
    return shareInFlight(this.limitReads, `${consumerId}|${modelId}|${period}`, () =>
      LIMITS.run(em, [period, modelId, period, InvoiceStatus.OPEN, consumerId]).then((rows) => rows[0]),
    );
  }

  /** See RECORD_SUCCEEDED_SQL: one statement, its own commit, whatever the number of runs. */
  async recordSucceeded(em: EntityManager, runs: readonly SucceededRun[]): Promise<RecordedCost[]> {
    if (runs.length === 0) return [];
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
    }));
    return RECORD_SUCCEEDED.run(em, [JSON.stringify(rows), PredictionMode.SYNC, PredictionStatus.SUCCEEDED]);
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
