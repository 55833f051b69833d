import type { EntityManager } from '@mikro-orm/postgresql';
import { Model } from '../entities/model.entity.js';
import { isDecimal } from '../billing/money.js';
import { badInput } from '../shared/errors.js';
import { decodeCursor, encodeCursor, toPage, type Page } from '../shared/pagination.js';
import { columnsOf, joinSql, placeholders, query, sql, type Sql } from './sql.js';

export type ModelOrderName = 'RELEVANCE' | 'POPULAR' | 'TOP_RATED' | 'NEWEST';

export type ModelFilterInput = {
  search?: string | null;
  tags?: string[] | null;
  task?: string | null;
  framework?: string | null;
  maxPricePerRequest?: string | null;
  minRating?: number | null;
  ownerId?: string | null;
};

/**
 * Bayesian average for TOP_RATED: each model starts with PRIOR_WEIGHT phantom reviews of
 * PRIOR_MEAN stars, so one 5-star review (4.0) ranks below a hundred 4.8s (4.77). Constants rather
 * than the catalog-wide mean keep cursors stable while reviews arrive.
 */
export const PRIOR_MEAN = 3.5;
export const PRIOR_WEIGHT = 5;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_SEARCH_LENGTH = 200;
const MAX_TAGS = 20;

type Ordering = { key: Sql; cast: string };

function ordering(order: ModelOrderName, search: string | null): Ordering {
  switch (order) {
    case 'RELEVANCE':
      return { key: sql("ts_rank_cd(m.search_vector, websearch_to_tsquery('english', ?))", search), cast: 'real' };
    case 'POPULAR':
      return { key: sql('m.prediction_count'), cast: 'bigint' };
    case 'TOP_RATED':
      return {
        key: sql(`((m.rating_sum + ${PRIOR_MEAN * PRIOR_WEIGHT})::numeric / (m.rating_count + ${PRIOR_WEIGHT}))`),
        cast: 'numeric',
      };
    case 'NEWEST':
      return { key: sql('m.created_at'), cast: 'timestamptz' };
  }
}

function filters(filter: ModelFilterInput): Sql[] {
  const where: Sql[] = [sql('m.deleted_at is null')];
  const search = filter.search?.trim();
  if (search) {
    if (search.length > MAX_SEARCH_LENGTH) throw badInput(`search must be at most ${MAX_SEARCH_LENGTH} characters`);
    where.push(sql("m.search_vector @@ websearch_to_tsquery('english', ?)", search));
  }
  if (filter.tags?.length) {
    if (filter.tags.length > MAX_TAGS) throw badInput(`at most ${MAX_TAGS} tags`, { field: 'tags' });
    const tags = filter.tags.map((t) => t.trim().toLowerCase());
    const list = placeholders(tags);
    where.push({ text: `m.tags @> array[${list.text}]::text[]`, params: list.params });
  }
  if (filter.task) where.push(sql('m.task = ?', filter.task));
  if (filter.framework) where.push(sql('m.framework = ?', filter.framework));
  if (filter.maxPricePerRequest != null) {
    if (!isDecimal(filter.maxPricePerRequest)) {
      throw badInput('maxPricePerRequest must be a decimal such as "0.01"', { field: 'maxPricePerRequest' });
    }
    where.push(sql('m.price_per_request <= ?::numeric', filter.maxPricePerRequest));
  }
  if (filter.minRating != null) {
    if (!(filter.minRating >= 1 && filter.minRating <= 5)) throw badInput('minRating must be between 1 and 5');
    where.push(sql('m.rating_count > 0 and m.rating_sum >= ? * m.rating_count', filter.minRating));
  }
  if (filter.ownerId) {
    if (!UUID.test(filter.ownerId)) throw badInput('ownerId must be a UUID', { field: 'ownerId' });
    where.push(sql('m.owner_id = ?', filter.ownerId));
  }
  return where;
}

/**
 * One page of the public catalog with keyset pagination on (sort key, id): pages stay stable when
 * sort keys tie and cost the same however deep the client goes. Two statements at most: the page,
 * and the count when `totalCount` is selected.
 */
export async function listModels(
  em: EntityManager,
  input: { filter: ModelFilterInput; orderBy: ModelOrderName | null; limit: number; after: string | null },
): Promise<Page<Model>> {
  const search = input.filter.search?.trim() || null;
  const order = input.orderBy ?? (search ? 'RELEVANCE' : 'NEWEST');
  if (order === 'RELEVANCE' && !search) throw badInput('orderBy RELEVANCE needs filter.search');
  const { key, cast } = ordering(order, search);
  const where = filters(input.filter);

  const pageWhere = [...where];
  if (input.after) {
    const [value, id] = decodeCursor(input.after, `models:${order}`, 2);
    if (typeof value !== 'string' || typeof id !== 'string' || !UUID.test(id)) {
      throw badInput('Invalid cursor', { field: 'after' });
    }
    pageWhere.push({ text: `(${key.text}, m.id) < (?::${cast}, ?::uuid)`, params: [...key.params, value, id] });
  }

  const page = joinSql(
    [
      {
        text: `select ${columnsOf(em, Model, 'm')}, (${key.text})::text as "__sort" from models m`,
        params: key.params,
      },
      { text: 'where', params: [] },
      joinSql(pageWhere, ' and '),
      { text: `order by ${key.text} desc, m.id desc limit ?`, params: [...key.params, input.limit + 1] },
    ],
    ' ',
  );
  const rows = await query<Record<string, unknown>>(em, page);
  const sortKeys = new Map<Model, string>();
  const models = rows.map((row) => {
    const { __sort, ...columns } = row;
    const model = em.map(Model, columns);
    sortKeys.set(model, String(__sort));
    return model;
  });

  const count = async () => {
    const [row] = await query<{ count: number }>(
      em,
      joinSql([sql('select count(*)::int as count from models m where'), joinSql(where, ' and ')], ' '),
    );
    return row?.count ?? 0;
  };
  return toPage(
    models,
    input.limit,
    (m) => encodeCursor(`models:${order}`, [sortKeys.get(m) ?? '', m.id]),
    count,
    input.after !== null,
  );
}
