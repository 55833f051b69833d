import type { ApolloServerPlugin, GraphQLRequestContext, GraphQLRequestListener } from '@apollo/server';
import { Kind, OperationTypeNode, type OperationDefinitionNode } from 'graphql';
import type { CatalogGeneration } from '../catalog/catalog-generation.js';
import type { GraphQLContext } from './context.js';

/** Root fields whose anonymous answers are the same for everyone and change only on catalog writes. */
const CACHEABLE_ROOT_FIELDS = new Set(['models', 'model', '__typename']);

type Entry = { generation: string; expires: number; data: Record<string, unknown> };

export type ResponseCacheOptions = {
  /** How long an entry may be served; 0 turns the cache off. */
  ttlMs: number;
  generation: CatalogGeneration;
  /** Bound on entries (distinct documents + variables); the oldest go first. */
  maxEntries?: number;
};

/**
 * A response cache for public catalog reads. Anonymous callers' queries whose root fields are
 * only `models` / `model` are answered from memory before execution (`responseForOperation`),
 * keyed by the document, operation name and variables.
 *
 * Why it is safe:
 * - Only anonymous callers: a signed-in owner or admin sees deleted models and PROCESSING
 *   versions, so their answers differ per caller and are never stored or served.
 * - Entries carry the catalog generation they were filled under (src/catalog/catalog-generation.ts);
 *   any committed catalog write bumps it, so a write in this process is visible to the next read,
 *   and one in another replica within the Redis poll interval. The TTL bounds what no write
 *   announces (prediction counts, which change on every prediction).
 * - Only whole successes are stored: no errors, no partial data, no mutations.
 * - It runs after `didResolveOperation`, so rate limits and cost limits still apply to hits.
 *
 * A hit runs no SQL, so its `x-sql-statements` header says 0; `x-catalog-cache` says `hit` or
 * `miss` on the operations this cache considers (and is absent on the others).
 */
export function responseCachePlugin(options: ResponseCacheOptions): ApolloServerPlugin<GraphQLContext> {
  const { ttlMs, generation } = options;
  const maxEntries = options.maxEntries ?? 1000;
  const entries = new Map<string, Entry>();
  // A local write drops everything at once; the generation check would also catch it, but
  // freeing the memory now costs nothing.
  generation.onBump(() => entries.clear());

  return {
    async requestDidStart(): Promise<GraphQLRequestListener<GraphQLContext> | void> {
      if (ttlMs <= 0) return;
      let key: string | undefined;
      let filledUnder: string | undefined;
      let hit = false;
      return {
        async responseForOperation(ctx: GraphQLRequestContext<GraphQLContext>) {
          if (!cacheable(ctx) || !generation.usable()) return null;
          key = keyOf(ctx);
          // Taken before execution: rows read under this generation are at least this new.
          filledUnder = generation.current();
          ctx.response.http.headers.set('x-catalog-cache', 'miss');
          const entry = entries.get(key);
          if (!entry) return null;
          if (entry.generation !== filledUnder || entry.expires <= Date.now()) {
            entries.delete(key);
            return null;
          }
          hit = true;
          ctx.response.http.headers.set('x-catalog-cache', 'hit');
          // `data` is shared by every hit; Apollo only serialises it, nothing writes to it.
          return { http: ctx.response.http, body: { kind: 'single', singleResult: { data: entry.data } } };
        },
        async willSendResponse({ response }) {
          if (hit || key === undefined || filledUnder === undefined) return;
          if (response.body.kind !== 'single') return;
          const { data, errors } = response.body.singleResult;
          if (errors?.length || !data || (response.http.status ?? 200) !== 200) return;
          // A write committed while this ran: what was read may predate it.
          if (generation.current() !== filledUnder) return;
          if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
          entries.set(key, { generation: filledUnder, expires: Date.now() + ttlMs, data });
        },
      };
    },
  };
}

function cacheable(ctx: GraphQLRequestContext<GraphQLContext>): boolean {
  if (ctx.contextValue.caller.kind !== 'anonymous') return false;
  const operation: OperationDefinitionNode | undefined = ctx.operation;
  if (!operation || operation.operation !== OperationTypeNode.QUERY) return false;
  // Fragments at the root would hide which fields are asked for: not worth resolving here.
  return operation.selectionSet.selections.every(
    (s) => s.kind === Kind.FIELD && CACHEABLE_ROOT_FIELDS.has(s.name.value),
  );
}

function keyOf(ctx: GraphQLRequestContext<GraphQLContext>): string {
  return JSON.stringify([ctx.queryHash, ctx.operationName ?? null, ctx.request.variables ?? {}]);
}
