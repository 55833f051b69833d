/**
 * Records a group of synchronous predictions that succeeded — the prediction rows, their usage
 * records, the consumers' monthly counters and the models' prediction counters — in ONE statement,
 * so one round trip and one commit (one WAL flush) serve every prediction that finished while the
 * previous group was being written (group commit; src/predictions/prediction-recorder.ts).
 *
 * The numbering is METER_SQL's (metering.service.ts), for k requests at once:
 * - `g` counts the group's requests per (consumer, model, month) and `c` adds k to that counter
 *   row with `insert … on conflict do update`, which locks the row until the statement commits:
 *   concurrent writers (other groups, other replicas, queued jobs) take their numbers after ours.
 *   The counter's amount grows by the price of the requests past the free allowance:
 *   greatest(0, new − greatest(old, free)) of them.
 * - each request's number is the counter's new value − k + its position in the group, so the
 *   group's requests get old+1 … old+k in arrival order, and number <= free means free.
 * - `p` inserts the predictions SUCCEEDED with the price snapshot; `u` their usage records (the
 *   foreign key to `p`'s rows is checked at the end of the statement, when they exist); `mc`
 *   adds the group's count to each model's popularity counter — once per model per group, not
 *   once per request, which is what made the models row a queue under load.
 * A prediction whose model row is gone joins nothing and is not returned: the caller reports it.
 *
 * The runs arrive as one JSON array (`jsonb_to_recordset`): MikroORM's `execute` inlines
 * parameters into the SQL text and has no array-parameter form, and one quoted string is safe.
 * Data-modifying CTEs run once each and see the same snapshot; only their RETURNING output links
 * them (https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING).
 */
export const RECORD_SUCCEEDED_SQL = `
with e as (
  select * from jsonb_to_recordset(?::jsonb) as e(id uuid, user_id uuid, api_key_id uuid, model_id uuid,
    version_id uuid, device text, batch_size int, started_at timestamptz, completed_at timestamptz,
    queue_time_ms float8, inference_time_ms float8, period_start date, ord int)
), m as (
  select id as model_id, owner_id, price_per_request as price, currency, free_requests_per_month as free
  from models where id in (select model_id from e)
), g as (
  select user_id, model_id, period_start, count(*)::int as k from e group by user_id, model_id, period_start
), c as (
  insert into usage_counters as uc (user_id, model_id, period_start, requests, amount)
  select g.user_id, g.model_id, g.period_start, g.k, m.price * greatest(0, g.k - m.free)
  from g join m using (model_id)
  order by g.user_id, g.model_id, g.period_start
  on conflict (user_id, model_id, period_start) do update
    set requests = uc.requests + excluded.requests,
        amount = uc.amount + (select m.price from m where m.model_id = excluded.model_id)
          * greatest(0, uc.requests + excluded.requests
              - greatest(uc.requests, (select m.free from m where m.model_id = excluded.model_id)))
  returning uc.user_id, uc.model_id, uc.period_start, uc.requests
), n as (
  select e.*, m.owner_id, m.price, m.currency,
    c.requests - g.k + row_number() over (partition by e.user_id, e.model_id, e.period_start order by e.ord)
      <= m.free as free
  from e
  join m using (model_id)
  join g using (user_id, model_id, period_start)
  join c using (user_id, model_id, period_start)
), p as (
  insert into predictions (id, user_id, api_key_id, model_id, version_id, mode, status, device, batch_size,
    started_at, completed_at, queue_time_ms, inference_time_ms, unit_price, cost, currency, webhook_events,
    attempts, created_at, updated_at)
  select id, user_id, api_key_id, model_id, version_id, ?, ?, device, batch_size,
    started_at, completed_at, queue_time_ms, inference_time_ms, price, case when free then 0 else price end,
    currency, '{}', 0, started_at, now()
  from n
  returning id, unit_price as "unitPrice", cost, currency
), u as (
  insert into usage_records (id, prediction_id, user_id, publisher_id, model_id, version_id, occurred_at,
    period_start, free, unit_price, amount, currency, created_at)
  select gen_random_uuid(), id, user_id, owner_id, model_id, version_id, completed_at,
    period_start, free, price, case when free then 0 else price end, currency, now()
  from n
), mc as (
  update models set prediction_count = prediction_count + x.k
  from (select model_id, count(*) as k from n group by model_id) x
  where models.id = x.model_id
)
select * from p`;
