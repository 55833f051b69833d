/**
 * The part of the group-commit statements (record-succeeded.sql.ts for synchronous predictions,
 * complete-succeeded.sql.ts for queued ones) that bills: it expects a CTE `x` holding the runs to
 * bill — id, user_id, model_id, version_id, completed_at, period_start, ord — and defines:
 * - `m`: each model's price and free allowance as they are now (the price at run time);
 * - `g`: the group's requests per (consumer, model, month); `c` adds k to that counter row with
 *   `insert … on conflict do update`, which locks the row until the statement commits, so
 *   concurrent writers (other groups, other replicas, the other path) take their numbers after
 *   ours. The counter's amount grows by the price of the requests past the free allowance:
 *   greatest(0, new − greatest(old, free)) of them;
 * - `n`: each run with its number — the counter's new value − k + its position in the group, so
 *   the group's requests get old+1 … old+k in `ord` order — and number <= free means free.
 * A run whose model row is gone joins nothing in `n`: it is neither written nor billed, and the
 * caller reports it (PredictionNotRecordedError).
 * See https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT.
 */
export const PRICE_AND_NUMBER_CTES = `
m as (
  select id as model_id, owner_id, price_per_request as price, currency, free_requests_per_month as free
  from models where id in (select model_id from x)
), g as (
  select user_id, model_id, period_start, count(*)::int as k from x group by user_id, model_id, period_start
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
  select x.*, m.owner_id, m.price, m.currency,
    c.requests - g.k + row_number() over (partition by x.user_id, x.model_id, x.period_start order by x.ord)
      <= m.free as free
  from x
  join m using (model_id)
  join g using (user_id, model_id, period_start)
  join c using (user_id, model_id, period_start)
)`;

/**
 * After `n`: `u` writes one usage record per billed run (the foreign key to its prediction row is
 * checked at the end of the statement, when an inserted row exists), and `mc` adds the group's
 * count to each model's popularity counter — once per model per group, not once per request,
 * which is what made the models row a queue under load.
 */
export const USAGE_AND_POPULARITY_CTES = `
u as (
  insert into usage_records (id, prediction_id, user_id, publisher_id, model_id, version_id, occurred_at,
    period_start, free, unit_price, amount, currency, created_at)
  select gen_random_uuid(), id, user_id, owner_id, model_id, version_id, completed_at,
    period_start, free, price, case when free then 0 else price end, currency, now()
  from n
), mc as (
  update models set prediction_count = prediction_count + t.k
  from (select model_id, count(*) as k from n group by model_id) t
  where models.id = t.model_id
)`;
