/**
 * The part of the group-commit statements (record-succeeded.sql.ts for synchronous predictions,
 * complete-succeeded.sql.ts for queued ones) that bills: it expects a CTE `x` holding the runs to
 * bill — id, user_id, model_id, version_id, completed_at, period_start, ord, and the pricing the
 * run was accepted at: price, allowance (free requests per month), currency; plus released (what
 * it held against the spending cap, 0 for none) and reserved_period (the month that was held in)
 * — and defines:
 * - `m`: each model's owner (the publisher who earns); the price is the run's own, never the
 *   model's current one, so a price change applies to requests accepted after it only;
 * - `xp`: each run's position among the group's runs of its (consumer, model, month), in `ord`;
 * - `g`: the group's requests per (consumer, model, month); `c` adds k to that counter row with
 *   `insert … on conflict do update`, which locks the row until the statement commits, so
 *   concurrent writers (other groups, other replicas, the other path) take their numbers after
 *   ours. The counter's amount grows by the prices of the runs numbered past their allowance
 *   (old + position > allowance, `old` being the row as locked);
 * - `n`: each run with its number — the counter's new value − k + its position, so the group's
 *   requests get old+1 … old+k in `ord` order — and number <= allowance means free.
 * A run whose model row is gone joins nothing in `n`: it is neither written nor billed, and the
 * caller reports it (PredictionNotRecordedError).
 * See https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT.
 */
export const PRICE_AND_NUMBER_CTES = `
m as (
  select id as model_id, owner_id from models where id in (select model_id from x)
), xp as (
  select x.*, row_number() over (partition by x.user_id, x.model_id, x.period_start order by x.ord) as pos
  from x join m using (model_id)
), g as (
  select user_id, model_id, period_start, count(*) as k from xp group by user_id, model_id, period_start
), c as (
  insert into usage_counters as uc (user_id, model_id, period_start, requests, amount)
  select g.user_id, g.model_id, g.period_start, g.k,
    (select coalesce(sum(xp.price), 0) from xp
      where xp.user_id = g.user_id and xp.model_id = g.model_id and xp.period_start = g.period_start
        and xp.pos > xp.allowance)
  from g
  order by g.user_id, g.model_id, g.period_start
  on conflict (user_id, model_id, period_start) do update
    set requests = uc.requests + excluded.requests,
        amount = uc.amount + (select coalesce(sum(xp.price), 0) from xp
          where xp.user_id = excluded.user_id and xp.model_id = excluded.model_id
            and xp.period_start = excluded.period_start and uc.requests + xp.pos > xp.allowance)
  returning uc.user_id, uc.model_id, uc.period_start, uc.requests
), n as (
  select xp.*, m.owner_id, c.requests - g.k + xp.pos <= xp.allowance as free
  from xp
  join m using (model_id)
  join g using (user_id, model_id, period_start)
  join c using (user_id, model_id, period_start)
)`;

/**
 * After `n`: `sp` adds what the runs cost to their consumers' month (monthly_spend.spent) and
 * takes what queued jobs held against the cap off the month they held it in (a job accepted on
 * the 31st may complete on the 1st), one upsert per (consumer, month); `u` writes one usage
 * record per billed run (the foreign key to its prediction row is checked at the end of the
 * statement, when an inserted row exists); `mc` adds the group's count to each model's popularity
 * counter — once per model per group, not once per request, which is what made the models row a
 * queue under load.
 */
export const USAGE_AND_POPULARITY_CTES = `
sp as (
  insert into monthly_spend as ms (user_id, period_start, spent, reserved)
  select user_id, period_start, sum(spent), greatest(0, sum(reserved)) from (
    select user_id, period_start, case when free then 0 else price end as spent, 0::numeric as reserved from n
    union all
    select user_id, reserved_period, 0, -released from n where released > 0
  ) d
  group by user_id, period_start
  order by user_id, period_start
  on conflict (user_id, period_start) do update
    set spent = ms.spent + excluded.spent,
        reserved = greatest(0, ms.reserved + (select coalesce(-sum(n.released), 0) from n
          where n.user_id = excluded.user_id and n.reserved_period = excluded.period_start))
), u as (
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
