import type { EntityManager } from '@mikro-orm/postgresql';
import { InvoiceStatus, PredictionMode, PredictionStatus } from '../entities/enums.js';
import type { Model } from '../entities/model.entity.js';
import type { Prediction } from '../entities/prediction.entity.js';
import { UsageRecord } from '../entities/usage-record.entity.js';
import { overdueInvoice, spendCapReached } from './billing.errors.js';
import { periodStartOf } from './billing-period.js';
import { formatInvoiceNumber } from './invoice-number.js';
import { addMoney, compareMoney, formatMoney } from './money.js';
import type { Metering, RecordedCost, SucceededRun } from './metering.types.js';
import { RECORD_SUCCEEDED_SQL } from './record-succeeded.sql.js';
import { shareInFlight } from '../shared/in-flight.js';

/**
 * Counts the request and writes its usage record in ONE statement:
 * - `m` reads the model's price and free allowance as they are now (the price at run time);
 * - `c` upserts the (consumer, model, month) counter. `on conflict do update` locks that row
 *   until the transaction ends, so concurrent meterings by one consumer queue on it and each gets
 *   the next number: requests 1..free are free, the rest pay. A rollback undoes the increment.
 *   This beats an advisory lock + `count(*)` (a scan that grows with the month's usage) and a
 *   separate `select … for update` (two round trips, and the row must exist first).
 *   See https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT.
 * - the outer insert is keyed by the prediction (`usage_records_prediction_id_unique`): a retry
 *   inserts nothing, and the caller takes the counter back (below).
 */
const METER_SQL = `
with m as (
  select owner_id, price_per_request as price, currency, free_requests_per_month as free
  from models where id = ?
), c as (
  insert into usage_counters (user_id, model_id, period_start, requests, amount)
  select ?, ?, ?, 1, case when m.free >= 1 then 0 else m.price end from m
  on conflict (user_id, model_id, period_start) do update
    set requests = usage_counters.requests + 1,
        amount = usage_counters.amount
          + case when usage_counters.requests + 1 <= (select free from m) then 0 else (select price from m) end
  returning requests
)
insert into usage_records
  (id, prediction_id, user_id, publisher_id, model_id, version_id, occurred_at, period_start,
   free, unit_price, amount, currency, created_at)
select gen_random_uuid(), ?, ?, m.owner_id, ?, ?, ?, ?,
  c.requests <= m.free, m.price, case when c.requests <= m.free then 0 else m.price end, m.currency, now()
from m, c
on conflict (prediction_id) do nothing
returning *`;

const UNDO_COUNT_SQL = `
update usage_counters set requests = requests - 1, amount = amount - ?
where user_id = ? and model_id = ? and period_start = ?`;

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

/**
 * Billing's side of the prediction path (the `Metering` seam in metering.types.ts): quota checks
 * before inference, and exactly one usage record per succeeded prediction, inside the
 * transaction that makes it SUCCEEDED.
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
      em
        .execute<LimitsRow[]>(LIMITS_SQL, [period, modelId, period, InvoiceStatus.OPEN, consumerId])
        .then((rows) => rows[0]),
    );
  }

  /**
   * Writes the prediction's usage record (see METER_SQL) and snapshots its price and cost on the
   * prediction; the caller's commit flushes those two fields with its own changes. A second call
   * for the same prediction — a retried job, a duplicate delivery — returns the first record.
   */
  async meter(em: EntityManager, prediction: Prediction): Promise<UsageRecord> {
    if ((prediction.status as PredictionStatus) !== PredictionStatus.SUCCEEDED) {
      throw new Error(`meter() is for succeeded predictions; ${prediction.id} is ${prediction.status}`);
    }
    // The usage record references the prediction row. A prediction loaded from the database (the
    // worker's case) is there already: its status and price go out together in the caller's
    // commit. One created in this transaction and not yet flushed is written first.
    if (!em.getUnitOfWork().getOriginalEntityData(prediction)) await em.flush();
    const occurredAt = prediction.completedAt ?? this.now();
    const period = periodStartOf(occurredAt);
    const userId = prediction.user.id;
    const modelId = prediction.model.id;
    const rows = await em.execute<Record<string, unknown>[]>(METER_SQL, [
      modelId,
      userId,
      modelId,
      period,
      prediction.id,
      userId,
      modelId,
      prediction.version.id,
      occurredAt,
      period,
    ]);
    let record: UsageRecord;
    if (rows[0]) {
      record = em.map(UsageRecord, rows[0]);
    } else {
      const existing = await em.findOneOrFail(UsageRecord, { prediction: prediction.id });
      // This call counted the request before the insert found the existing record: take it back.
      await em.execute(UNDO_COUNT_SQL, [existing.amount, userId, modelId, existing.periodStart]);
      record = existing;
    }
    prediction.unitPrice = formatMoney(record.unitPrice);
    prediction.cost = formatMoney(record.amount);
    prediction.currency = record.currency;
    return record;
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
    return em
      .getConnection()
      .execute<RecordedCost[]>(RECORD_SUCCEEDED_SQL, [
        JSON.stringify(rows),
        PredictionMode.SYNC,
        PredictionStatus.SUCCEEDED,
      ]);
  }
}
