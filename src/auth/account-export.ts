import type { EntityManager } from '@mikro-orm/postgresql';

// Small pages: a prediction row may carry its tensors.
const PAGE = 200;

/** One section of the export: the user's rows of a query, paged by id, as JSON values. */
type Section = { name: string; sql: string };

/**
 * What `GET /account/export.json` holds, one section per kind of data about the account: the
 * profile, API keys (never their secrets), models and versions published, reviews written,
 * predictions made (their record; tensors are the consumer's own inputs and outputs, included
 * while kept), batches, usage records, invoices, alerts. Each section is read a page at a time
 * (keyset on id), so an account with a million predictions streams in bounded memory.
 */
const SECTIONS: Section[] = [
  {
    name: 'apiKeys',
    sql: `select id, name, prefix, scopes, created_at, expires_at, last_used_at, revoked_at from api_keys where user_id = ?`,
  },
  {
    name: 'models',
    sql: `select id, slug, name, description, tags, task, framework, license, price_per_request::text as price_per_request,
            currency, free_requests_per_month, created_at, deleted_at from models where owner_id = ?`,
  },
  {
    name: 'modelVersions',
    sql: `select v.id, v.model_id, v.version, v.status, v.size_bytes, v.sha256, v.created_at from model_versions v
          join models m on m.id = v.model_id where m.owner_id = ?`,
  },
  {
    name: 'reviews',
    sql: `select id, model_id, rating, title, body, created_at, updated_at from reviews where author_id = ?`,
  },
  {
    name: 'predictions',
    sql: `select id, model_id, version_id, mode, status, inputs, outputs, data_removed_at, error_code, cost::text as cost,
            currency, created_at, completed_at from predictions where user_id = ?`,
  },
  {
    name: 'batchPredictions',
    sql: `select id, model_id, version_id, status, total_rows, created_at, completed_at from batch_predictions where user_id = ?`,
  },
  {
    name: 'usageRecords',
    sql: `select id, prediction_id, model_id, amount::text as amount, currency, period_start, free, occurred_at
          from usage_records where user_id = ?`,
  },
  {
    name: 'invoices',
    sql: `select id, number, period_start, period_end, status, total::text as total, currency, due_at, paid_at, created_at
          from invoices where user_id = ?`,
  },
  {
    name: 'usageAlerts',
    sql: `select id, percent_of_cap, amount::text as amount, currency, webhook_url, created_at from usage_alerts where user_id = ?`,
  },
];

/** The export as JSON text, chunk by chunk. */
export async function* accountExport(em: EntityManager, userId: string, now = new Date()): AsyncGenerator<string> {
  const [profile] = await em.execute<Record<string, unknown>[]>(
    `select id, email, display_name, role, email_verified_at, monthly_spend_cap::text as monthly_spend_cap, created_at
     from users where id = ?`,
    [userId],
  );
  yield `{"exportedAt":${JSON.stringify(now.toISOString())},"user":${JSON.stringify(profile ?? null)}`;
  for (const section of SECTIONS) {
    yield `,${JSON.stringify(section.name)}:[`;
    let after = '00000000-0000-0000-0000-000000000000';
    let first = true;
    for (;;) {
      // The section's own filter, then the keyset: `where … and id > ?` on its main table.
      const idColumn = section.name === 'modelVersions' ? 'v.id' : 'id';
      const rows = await em.execute<({ id: string } & Record<string, unknown>)[]>(
        `${section.sql} and ${idColumn} > ? order by ${idColumn} limit ${PAGE}`,
        [userId, after],
      );
      for (const row of rows) {
        yield `${first ? '' : ','}${JSON.stringify(row)}`;
        first = false;
      }
      if (rows.length < PAGE) break;
      after = rows[rows.length - 1].id;
    }
    yield ']';
  }
  yield '}\n';
}
