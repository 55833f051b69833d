import { PRICE_AND_NUMBER_CTES, USAGE_AND_POPULARITY_CTES } from './metered-group.sql.js';

/**
 * Records a group of synchronous predictions that succeeded — the prediction rows, their usage
 * records, the consumers' monthly counters and spend, and the models' prediction counters — in
 * ONE statement, so one round trip and one commit (one WAL flush) serve every prediction that
 * finished while the previous group was being written (group commit;
 * src/predictions/prediction-recorder.ts). Pricing and numbering: metered-group.sql.ts. Each run
 * carries the price and free allowance read when it was accepted (its start).
 *
 * The spending cap is enforced here, where the usage is metered: `s` locks the month rows
 * (monthly_spend) of the group's consumers that have a cap — `for update` returns the row as last
 * committed, whoever wrote it (another group, a queued job's reservation) — and `a` admits a
 * consumer's runs in `ord` while spent + reserved + the prices of the runs admitted before it and
 * its own stay within the cap (a run whose price is 0 always passes). The price counts in full
 * even when the run turns out free: admission must not depend on the numbering it decides. Runs
 * refused come back with the cap and the month's figures instead of a price (the caller answers
 * QUOTA_EXCEEDED, with no outputs) and are neither written nor counted. The month row of a capped
 * consumer exists before their first run gets here (MeteringService.accept makes it), so no
 * concurrent statement can be creating it unseen.
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
    queue_time_ms float8, inference_time_ms float8, period_start date, ord int, price numeric,
    allowance int, currency text)
), s as (
  select ms.user_id, ms.period_start, ms.spent, ms.reserved, u.monthly_spend_cap as cap
  from monthly_spend ms join users u on u.id = ms.user_id
  where u.monthly_spend_cap is not null and (ms.user_id, ms.period_start) in (select user_id, period_start from e)
  order by ms.user_id, ms.period_start
  for update of ms
), a as (
  select e.*, s.cap, s.spent, s.reserved,
    s.cap is null or e.price = 0
      or s.spent + s.reserved + sum(e.price) over (partition by e.user_id, e.period_start order by e.ord) <= s.cap
      as admitted
  from e left join s using (user_id, period_start)
), x as (
  select a.*, 0::numeric as released, null::date as reserved_period from a where admitted
), ${PRICE_AND_NUMBER_CTES}, p as (
  insert into predictions (id, user_id, api_key_id, model_id, version_id, mode, status, device, batch_size,
    started_at, completed_at, queue_time_ms, inference_time_ms, unit_price, cost, free_allowance, currency,
    webhook_events, attempts, created_at, updated_at)
  select id, user_id, api_key_id, model_id, version_id, ?, ?, device, batch_size,
    started_at, completed_at, queue_time_ms, inference_time_ms, price, case when free then 0 else price end,
    allowance, currency, '{}', 0, started_at, now()
  from n
  returning id, unit_price as "unitPrice", cost, currency
), ${USAGE_AND_POPULARITY_CTES}
select id, "unitPrice", cost, currency, null::text as "refusedCap", null::text as "refusedSpent",
  null::text as "refusedReserved"
from p
union all
select id, null, null, null, cap::text, spent::text, reserved::text from a where not admitted`;
