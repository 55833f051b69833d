import type { EntityName } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * A tiny SQL builder for the catalog's hand-written queries: fragments carry their own `?`
 * parameters (MikroORM's `execute` binds them), so WHERE clauses compose without string
 * concatenation of values.
 */
export type Sql = { text: string; params: unknown[] };

export const sql = (text: string, ...params: unknown[]): Sql => ({ text, params });

export function joinSql(parts: Sql[], separator: string): Sql {
  return { text: parts.map((p) => p.text).join(separator), params: parts.flatMap((p) => p.params) };
}

/** `?, ?, ?` for a list of values (an empty list becomes `NULL`, which matches nothing in IN). */
export function placeholders(values: readonly unknown[]): Sql {
  return values.length === 0 ? sql('null') : { text: values.map(() => '?').join(', '), params: [...values] };
}

export async function query<T>(em: EntityManager, q: Sql): Promise<T[]> {
  return em.execute<T[]>(q.text, q.params);
}

/** The column list of an entity's table, without lazy columns such as the search vector. */
export function columnsOf(em: EntityManager, entity: EntityName<object>, alias: string): string {
  const meta = em.getMetadata().find(entity);
  if (!meta) throw new Error('unknown entity');
  return meta.props
    .filter((p) => p.fieldNames?.length && !p.lazy && p.persist !== false)
    .flatMap((p) => p.fieldNames)
    .map((f) => `${alias}."${f}"`)
    .join(', ');
}
