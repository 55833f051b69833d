import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Counts SQL statements per unit of work (a GraphQL request, a job). The ORM's `onQuery` hook
 * calls `countStatement`; whoever wants a count runs its work inside `withSqlCounter`. Used by
 * the N+1 test, the metrics and the benchmark.
 */
export type SqlCounter = { statements: number; sql: string[]; keepSql: boolean };

const storage = new AsyncLocalStorage<SqlCounter>();

export function withSqlCounter<T>(fn: () => T, keepSql = false): { counter: SqlCounter; result: T } {
  const counter: SqlCounter = { statements: 0, sql: [], keepSql };
  const result = storage.run(counter, fn);
  return { counter, result };
}

export function currentSqlCounter(): SqlCounter | undefined {
  return storage.getStore();
}

export function countStatement(sql: string): string {
  const counter = storage.getStore();
  if (counter) {
    counter.statements++;
    if (counter.keepSql) counter.sql.push(sql);
  }
  return sql;
}
