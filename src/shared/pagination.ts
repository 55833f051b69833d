import { badInput } from './errors.js';

/** Relay-style page arguments as a service receives them. */
export type PageArgs = { first?: number | null; after?: string | null };

/** One page of results, with each node's cursor; `totalCount` is computed only when asked for. */
export type Page<T> = {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  readonly totalCount: Promise<number> | number;
};

export const DEFAULT_PAGE_SIZE = 20;

/** Validates `first` against the server's cap; a missing `first` means the default page size. */
export function pageSize(first: number | null | undefined, max: number): number {
  if (first === null || first === undefined) return Math.min(DEFAULT_PAGE_SIZE, max);
  if (!Number.isInteger(first) || first < 0)
    throw badInput('`first` must be a non-negative integer', { field: 'first' });
  if (first > max) throw badInput(`\`first\` must be at most ${max}`, { field: 'first', max });
  return first;
}

/**
 * Opaque keyset cursors: base64url of `[kind, ...sortKeyValues]`. The kind ties a cursor to the
 * ordering that made it, so a cursor from another ordering or list is refused, not misread.
 */
export function encodeCursor(kind: string, values: readonly (string | number | null)[]): string {
  return Buffer.from(JSON.stringify([kind, ...values])).toString('base64url');
}

export function decodeCursor(cursor: string, kind: string, arity: number): (string | number | null)[] {
  const invalid = () => badInput('Invalid cursor', { field: 'after' });
  if (cursor.length > 1024 || !/^[A-Za-z0-9_-]*$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed[0] !== kind || parsed.length !== arity + 1) throw invalid();
  const values = parsed.slice(1) as unknown[];
  if (!values.every((v) => v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))) {
    throw invalid();
  }
  return values as (string | number | null)[];
}

/** Builds a page from `limit + 1` fetched rows (the extra one only says whether more exist). */
export function toPage<T>(
  rows: T[],
  limit: number,
  cursorOf: (row: T) => string,
  totalCount: () => Promise<number> | number,
  hasPreviousPage: boolean,
): Page<T> {
  const nodes = rows.slice(0, limit);
  const edges = nodes.map((node) => ({ cursor: cursorOf(node), node }));
  let memo: Promise<number> | number | undefined;
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > limit,
      hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    get totalCount() {
      memo ??= totalCount();
      return memo;
    },
  };
}
