import { PRICE_AND_NUMBER_CTES, USAGE_AND_POPULARITY_CTES } from './metered-group.sql.js';

/**
 * Completes a group of queued predictions that ran — RUNNING → SUCCEEDED with their outputs and
 * price snapshot, their usage records, the consumers' counters and the models' popularity — in
 * ONE statement (group commit, as record-succeeded.sql.ts does for synchronous ones; the worker's
 * PredictionRecorder forms the groups). Pricing and numbering: metered-group.sql.ts.
 *
 * `r` locks the rows that are still RUNNING (`for update` in a WITH query). A job canceled while
 * it ran holds its row's lock until its own commit; ours waits, re-reads the committed row, finds
 * it CANCELED and leaves it out: no outputs, nothing billed (READ COMMITTED's re-check,
 * https://www.postgresql.org/docs/current/transaction-iso.html#XACT-READ-COMMITTED). A job
 * delivered twice that already SUCCEEDED is left out the same way, so a prediction is billed
 * once. Only the rows `r` returned are updated and billed; the caller learns which from `p`.
 */
export const COMPLETE_SUCCEEDED_SQL = `
with e as (
  select * from jsonb_to_recordset(?::jsonb) as e(id uuid, outputs jsonb, device text, batch_size int,
    inference_time_ms float8, completed_at timestamptz, period_start date, ord int)
), r as (
  select id, user_id, model_id, version_id from predictions
  where id in (select id from e) and status = ?
  order by id
  for update
), x as (
  select e.*, r.user_id, r.model_id, r.version_id from e join r using (id)
), ${PRICE_AND_NUMBER_CTES}, p as (
  update predictions set status = ?, outputs = n.outputs, inputs = null, device = n.device,
    batch_size = n.batch_size, inference_time_ms = n.inference_time_ms, completed_at = n.completed_at,
    unit_price = n.price, cost = case when n.free then 0 else n.price end, currency = n.currency,
    updated_at = now()
  from n where predictions.id = n.id
  returning predictions.id, predictions.unit_price as "unitPrice", predictions.cost, predictions.currency,
    predictions.completed_at as "completedAt"
), ${USAGE_AND_POPULARITY_CTES}
select * from p`;
