import type { EntityManager } from '@mikro-orm/postgresql';
import { Model } from '../entities/model.entity.js';
import { isDecimal } from '../billing/money.js';
import { badInput } from '../shared/errors.js';
import { decodeCursor, encodeCursor, toPage, type Page } from '../shared/pagination.js';
import { columnsOf, joinSql, placeholders, query, sql, type Sql } from './sql.js';
import { UUID } from '../shared/ids.js';

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

const MAX_SEARCH_LENGTH = 200;
const MAX_TAGS = 20;

type Ordering = { key: Sql; cast: string };

/** How `filter.search` matches: full-text first; trigram similarity on the name when that finds nothing. */
type SearchMode = 'fts' | 'fuzzy';

/**
 * Typo tolerance: `word_similarity(query, name)` — the best match of the query against any part
 * of the name — at or above this. 0.45 catches one or two wrong letters in a word ("resnte" →
 * ResNet: 0.57; "detectr" → detector: 0.75) and rejects unrelated words (0 to 0.3).
 * https://www.postgresql.org/docs/current/pgtrgm.html
 */
export const FUZZY_THRESHOLD = 0.45;

function ordering(order: ModelOrderName, search: string | null, mode: SearchMode): Ordering {
  switch (order) {
    case 'RELEVANCE':
      return mode === 'fuzzy'
        ? { key: sql('word_similarity(?, m.name)', search), cast: 'real' }
        : { key: sql("ts_rank_cd(m.search_vector, websearch_to_tsquery('english', ?))", search), cast: 'real' };
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

function filters(filter: ModelFilterInput, mode: SearchMode): Sql[] {
  const where: Sql[] = [sql('m.deleted_at is null')];
  const search = filter.search?.trim();
  if (search) {
    if (search.length > MAX_SEARCH_LENGTH) throw badInput(`search must be at most ${MAX_SEARCH_LENGTH} characters`);
    where.push(
      mode === 'fuzzy'
        ? // `<%` is the index-assisted form of word_similarity(…) >= the session threshold, which
          // the fuzzy path sets per transaction (models_name_trgm, a GIN gin_trgm_ops index).
          sql('? <% m.name', search)
        : sql("m.search_vector @@ websearch_to_tsquery('english', ?)", search),
    );
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
 * and the count when `totalCount` is selected. A search whose full-text match is empty is run
 * again by trigram similarity on the name (typo tolerance); its cursors remember that mode.
 */
export async function listModels(
  em: EntityManager,
  input: { filter: ModelFilterInput; orderBy: ModelOrderName | null; limit: number; after: string | null },
): Promise<Page<Model>> {
  const search = input.filter.search?.trim() || null;
  const order = input.orderBy ?? (search ? 'RELEVANCE' : 'NEWEST');
  if (order === 'RELEVANCE' && !search) throw badInput('orderBy RELEVANCE needs filter.search');
  if (search && input.after && cursorKindOf(input.after) === fuzzyKind(order)) {
    return pageOf(em, input, order, search, 'fuzzy');
  }
  const page = await pageOf(em, input, order, search, 'fts');
  if (search && !input.after && page.edges.length === 0 && input.limit > 0) {
    return pageOf(em, input, order, search, 'fuzzy');
  }
  return page;
}

const fuzzyKind = (order: ModelOrderName) => `models:${order}:fuzzy`;

/** The kind a cursor was made for, without validating the rest (decodeCursor does that). */
function cursorKindOf(cursor: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(parsed) && typeof parsed[0] === 'string' ? parsed[0] : undefined;
  } catch {
    return undefined;
  }
}

async function pageOf(
  em: EntityManager,
  input: { filter: ModelFilterInput; limit: number; after: string | null },
  order: ModelOrderName,
  search: string | null,
  mode: SearchMode,
): Promise<Page<Model>> {
  const kind = mode === 'fuzzy' ? fuzzyKind(order) : `models:${order}`;
  const { key, cast } = ordering(order, search, mode);
  const where = filters(input.filter, mode);

  const pageWhere = [...where];
  if (input.after) {
    const [value, id] = decodeCursor(input.after, kind, 2);
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
  const run = <T>(q: Sql) => (mode === 'fuzzy' ? withFuzzyThreshold<T>(em, q) : query<T>(em, q));
  const rows = await run<Record<string, unknown>>(page);
  const sortKeys = new Map<Model, string>();
  const models = rows.map((row) => {
    const { __sort, ...columns } = row;
    const model = em.map(Model, columns);
    sortKeys.set(model, String(__sort));
    return model;
  });

  const count = async () => {
    const [row] = await run<{ count: number }>(
      joinSql([sql('select count(*)::int as count from models m where'), joinSql(where, ' and ')], ' '),
    );
    return row?.count ?? 0;
  };
  return toPage(
    models,
    input.limit,
    (m) => encodeCursor(kind, [sortKeys.get(m) ?? '', m.id]),
    count,
    input.after !== null,
  );
}

/**
 * Runs a query with `pg_trgm.word_similarity_threshold` set for its transaction only
 * (`set_config(…, true)` is SET LOCAL), so the `<%` operator — which the trigram index serves —
 * uses our threshold without changing the pooled connection for anyone else.
 */
async function withFuzzyThreshold<T>(em: EntityManager, q: Sql): Promise<T[]> {
  return em.transactional(async (tx) => {
    await tx.execute("select set_config('pg_trgm.word_similarity_threshold', ?, true)", [String(FUZZY_THRESHOLD)]);
    return query<T>(tx, q);
  });
}
