import { PRICE_AND_NUMBER_CTES, USAGE_AND_POPULARITY_CTES } from './metered-group.sql.js';

/**
 * Completes a group of queued predictions that ran — RUNNING → SUCCEEDED with their outputs and
 * cost, their usage records, the consumers' counters and spend, and the models' popularity — in
 * ONE statement (group commit, as record-succeeded.sql.ts does for synchronous ones; the worker's
 * PredictionRecorder forms the groups). Pricing and numbering: metered-group.sql.ts.
 *
 * `r` locks the rows that are still RUNNING (`for update` in a WITH query). A job canceled while
 * it ran holds its row's lock until its own commit; ours waits, re-reads the committed row, finds
 * it CANCELED and leaves it out: no outputs, nothing billed (READ COMMITTED's re-check,
 * https://www.postgresql.org/docs/current/transaction-iso.html#XACT-READ-COMMITTED). A job
 * delivered twice that already SUCCEEDED is left out the same way, so a prediction is billed
 * once. Only the rows `r` returned are updated and billed; the caller learns which from `p`.
 *
 * A job is billed at the price and free allowance stored on its row when it was created (jobs
 * from before that snapshot existed fall back to the model's current pricing), and what it held
 * against its consumer's cap is released in the same statement. It is never refused here: its
 * reservation already made room for its full price.
 */
export const COMPLETE_SUCCEEDED_SQL = `
with e as (
  select * from jsonb_to_recordset(?::jsonb) as e(id uuid, outputs jsonb, device text, batch_size int,
    inference_time_ms float8, completed_at timestamptz, period_start date, ord int)
), r as (
  select id, user_id, model_id, version_id, unit_price, free_allowance, currency, reserved_amount, created_at
  from predictions
  where id in (select id from e) and status = ?
  order by id
  for update
), x as (
  select e.*, r.user_id, r.model_id, r.version_id, r.currency,
    coalesce(r.unit_price, mo.price_per_request) as price,
    coalesce(r.free_allowance, mo.free_requests_per_month) as allowance,
    coalesce(r.reserved_amount, 0) as released,
    date_trunc('month', r.created_at at time zone 'UTC')::date as reserved_period
  from e join r using (id) join models mo on mo.id = r.model_id
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
