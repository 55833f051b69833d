import { PRICE_AND_NUMBER_CTES, USAGE_AND_POPULARITY_CTES } from './metered-group.sql.js';

/**
 * Records a group of synchronous predictions that succeeded — the prediction rows, their usage
 * records, the consumers' monthly counters and the models' prediction counters — in ONE statement,
 * so one round trip and one commit (one WAL flush) serve every prediction that finished while the
 * previous group was being written (group commit; src/predictions/prediction-recorder.ts).
 * Pricing and numbering: metered-group.sql.ts. `p` inserts the predictions SUCCEEDED with their
 * price snapshot.
 *
 * The runs arrive as one JSON array (`jsonb_to_recordset`): MikroORM's `execute` inlines
 * parameters into the SQL text and has no array-parameter form, and one quoted string is safe.
 * Data-modifying CTEs run once each and see the same snapshot; only their RETURNING output links
 * them (https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING).
 */
export const RECORD_SUCCEEDED_SQL = `
with x as (
  select * from jsonb_to_recordset(?::jsonb) as e(id uuid, user_id uuid, api_key_id uuid, model_id uuid,
    version_id uuid, device text, batch_size int, started_at timestamptz, completed_at timestamptz,
    queue_time_ms float8, inference_time_ms float8, period_start date, ord int)
), ${PRICE_AND_NUMBER_CTES}, p as (
  insert into predictions (id, user_id, api_key_id, model_id, version_id, mode, status, device, batch_size,
    started_at, completed_at, queue_time_ms, inference_time_ms, unit_price, cost, currency, webhook_events,
    attempts, created_at, updated_at)
  select id, user_id, api_key_id, model_id, version_id, ?, ?, device, batch_size,
    started_at, completed_at, queue_time_ms, inference_time_ms, price, case when free then 0 else price end,
    currency, '{}', 0, started_at, now()
  from n
  returning id, unit_price as "unitPrice", cost, currency
), ${USAGE_AND_POPULARITY_CTES}
select * from p`;
