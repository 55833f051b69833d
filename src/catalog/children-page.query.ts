import type { EntityName } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput } from '../shared/errors.js';
import { decodeCursor, encodeCursor, toPage, type Page } from '../shared/pagination.js';
import { columnsOf, placeholders, query, sql, type Sql } from './sql.js';

/** How one kind of nested list (a model's versions, a model's reviews) is stored and ordered. */
export type ChildListSpec = {
  entity: EntityName<object>;
  table: string;
  parentColumn: string;
  /** Extra condition on visible rows, e.g. hidden reviews left out. */
  visible: Sql;
  /** Sort columns (the id last), all in one direction so a row tuple comparison finds the next page. */
  orderColumns: { column: string; cast: string }[];
  direction: 'asc' | 'desc';
  cursorKind: string;
};

/**
 * The first `limit` children of every parent in `parentIds`, in one statement: a window
 * function numbers each parent's rows and counts them, so a page of 50 models costs the same
 * one query for their reviews as a page of 5. `after` (a child cursor) applies to every parent.
 */
export async function childrenPages<T extends object>(
  em: EntityManager,
  spec: ChildListSpec,
  parentIds: readonly string[],
  limit: number,
  after: string | null,
): Promise<Map<string, Page<T>>> {
  const cols = spec.orderColumns.map((c) => `t."${c.column}"`);
  const orderBy = cols.map((c) => `${c} ${spec.direction}`).join(', ');
  let cursorWhere: Sql = sql('true');
  if (after) {
    const values = decodeCursor(after, spec.cursorKind, spec.orderColumns.length);
    if (values.some((v) => v === null)) throw badInput('Invalid cursor', { field: 'after' });
    const op = spec.direction === 'desc' ? '<' : '>';
    const rhs = spec.orderColumns.map((c) => `?::${c.cast}`).join(', ');
    cursorWhere = { text: `(${cols.join(', ')}) ${op} (${rhs})`, params: values };
  }
  const ids = placeholders(parentIds);
  const keyExprs = spec.orderColumns.map((c) => `t."${c.column}"::text`).join(', ');
  const statement: Sql = {
    text:
      `select * from (select t.*, row_number() over (partition by t."${spec.parentColumn}" order by ${orderBy}) as "__rn" ` +
      `from (select ${columnsOf(em, spec.entity, 's')}, count(*) over (partition by s."${spec.parentColumn}")::int as "__total", ` +
      `json_build_array(${keyExprs.replaceAll('t."', 's."')}) as "__keys" ` +
      `from ${spec.table} s where s."${spec.parentColumn}" in (${ids.text}) and ${spec.visible.text}) t ` +
      `where ${cursorWhere.text}) x where "__rn" <= ? order by "${spec.parentColumn}", "__rn"`,
    params: [...ids.params, ...spec.visible.params, ...cursorWhere.params, limit + 1],
  };
  const rows = parentIds.length ? await query<Record<string, unknown>>(em, statement) : [];

  type Group = { rows: T[]; total: number; keys: Map<T, unknown[]> };
  const grouped = new Map<string, Group>();
  for (const row of rows) {
    const { __rn: _rn, __total, __keys, ...columns } = row;
    const parentId = String(columns[spec.parentColumn]);
    const entry: Group = grouped.get(parentId) ?? { rows: [], total: Number(__total), keys: new Map() };
    const child = em.map<T>(spec.entity as EntityName<T>, columns as never);
    entry.rows.push(child);
    entry.keys.set(child, __keys as unknown[]);
    grouped.set(parentId, entry);
  }
  // With a cursor the window count only sees rows after it; count every visible row then.
  const totals = after ? await countVisible(em, spec, parentIds) : undefined;
  const pages = new Map<string, Page<T>>();
  for (const parentId of parentIds) {
    const entry = grouped.get(parentId);
    const total = totals?.get(parentId) ?? entry?.total ?? 0;
    pages.set(
      parentId,
      toPage(
        entry?.rows ?? [],
        limit,
        (child) => encodeCursor(spec.cursorKind, (entry?.keys.get(child) ?? []) as (string | number | null)[]),
        () => total,
        after !== null,
      ),
    );
  }
  return pages;
}

async function countVisible(em: EntityManager, spec: ChildListSpec, parentIds: readonly string[]) {
  const ids = placeholders(parentIds);
  const rows = await query<{ parent: string; count: number }>(em, {
    text: `select "${spec.parentColumn}" as parent, count(*)::int as count from ${spec.table} s where s."${spec.parentColumn}" in (${ids.text}) and ${spec.visible.text} group by 1`,
    params: [...ids.params, ...spec.visible.params],
  });
  return new Map(rows.map((r) => [String(r.parent), r.count]));
}
