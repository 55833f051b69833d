import type { ApolloServerPlugin } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type ExecutionArgs,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import type { Context as WsContext, SubscribePayload } from 'graphql-ws';
import type { GraphQLLimitsConfig } from '../graphql.config.js';
import { classifyOperation, RateLimitedError, type RateLimitPolicy } from '../../auth/rate-limit/rate-limit.policy.js';
import type { Caller } from '../../shared/caller.js';
import type { GraphQLContext } from '../context.js';
import { documentLimitRules } from './document-limits.js';
import { limitError, LimitReason } from './limit-errors.js';
import { assertNoNulCharacters } from './nul-characters.js';
import { assertOperationCost } from './query-cost.js';

/** The shape limits every transport applies as validation rules (Apollo's `validationRules`). */
/**
 * Tokens a document may hold, for HTTP (Apollo's parseOptions) and WebSocket alike: the parser
 * stops there, before any rule runs. Tensors travel in variables, which are not tokens; without
 * it a body at the size limit (tens of MB) of repeated directives takes seconds to parse.
 */
export const MAX_DOCUMENT_TOKENS = 50_000;

export function hardeningRules(limits: GraphQLLimitsConfig): ValidationRule[] {
  return documentLimitRules(limits);
}

/**
 * The cost limit needs the variables (`first: $n`), which validation rules never see: over HTTP
 * it runs once the operation is resolved, before execution. So does the NUL character check
 * (nul-characters.ts).
 */
export function costLimitPlugin(limits: GraphQLLimitsConfig): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operationName, request }) {
          try {
            assertNoNulCharacters(document, request.variables);
            assertOperationCost(schema, document, {
              operationName,
              variables: request.variables,
              maxCost: limits.maxCost,
            });
          } catch (err) {
            if (err instanceof GraphQLError) {
              throw new GraphQLError(err.message, {
                extensions: { ...err.extensions, http: { status: 400, headers: new HeaderMap() } },
              });
            }
            throw err;
          }
        },
      };
    },
  };
}

type Extra = { caller?: Caller; request?: { socket?: { remoteAddress?: string } } };

/**
 * graphql-ws `onSubscribe`/`onComplete`: what Apollo does for HTTP, which never reaches
 * WebSocket operations (apollo-server#6492): parse, the same validation rules (plus the
 * introspection ban when introspection is off), the cost limit with the operation's variables,
 * the caller's rate limit, and a cap on operations running at once on one connection.
 * Returns errors (sent as the operation's `error` message) or the execution arguments; graphql-ws
 * then adds the context from its `context` option.
 */
export function websocketGuard(options: {
  schema: GraphQLSchema;
  limits: GraphQLLimitsConfig;
  introspection: boolean;
  rateLimits: RateLimitPolicy;
}) {
  const rules = [
    ...specifiedRules,
    ...hardeningRules(options.limits),
    ...(options.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
  ];
  const active = new WeakMap<object, Set<string>>();

  return {
    async onSubscribe(
      ctx: WsContext<Record<string, unknown> | undefined, Extra>,
      id: string,
      payload: SubscribePayload,
    ): Promise<ExecutionArgs | readonly GraphQLError[]> {
      const running = active.get(ctx) ?? new Set<string>();
      active.set(ctx, running);
      if (running.size >= options.limits.wsMaxSubscriptionsPerConnection) {
        return [
          limitError(
            LimitReason.TOO_MANY_SUBSCRIPTIONS,
            `At most ${options.limits.wsMaxSubscriptionsPerConnection} operations may run at once on one connection`,
            { maxSubscriptions: options.limits.wsMaxSubscriptionsPerConnection },
          ),
        ];
      }
      let document;
      try {
        document = parse(payload.query, { maxTokens: MAX_DOCUMENT_TOKENS });
      } catch (err) {
        const e = err as GraphQLError;
        return [
          new GraphQLError(e.message, {
            source: e.source,
            positions: e.positions,
            extensions: { code: 'GRAPHQL_PARSE_FAILED' },
          }),
        ];
      }
      const errors = validate(options.schema, document, rules);
      if (errors.length) {
        return errors.map(
          (e) =>
            new GraphQLError(e.message, {
              nodes: e.nodes,
              extensions: { ...e.extensions, code: 'GRAPHQL_VALIDATION_FAILED' },
            }),
        );
      }
      try {
        assertNoNulCharacters(document, payload.variables);
        assertOperationCost(options.schema, document, {
          operationName: payload.operationName,
          variables: payload.variables,
          maxCost: options.limits.maxCost,
        });
        const caller: Caller = ctx.extra.caller ?? { kind: 'anonymous' };
        await options.rateLimits.check(
          caller,
          ctx.extra.request?.socket?.remoteAddress,
          classifyOperation(document, payload.operationName),
        );
      } catch (err) {
        if (err instanceof GraphQLError) return [err];
        if (err instanceof RateLimitedError)
          return [new GraphQLError(err.message, { extensions: { ...err.details, code: err.code } })];
        throw err;
      }
      running.add(id);
      return {
        schema: options.schema,
        document,
        operationName: payload.operationName,
        variableValues: payload.variables,
      };
    },

    onComplete(ctx: WsContext<Record<string, unknown> | undefined, Extra>, id: string): void {
      active.get(ctx)?.delete(id);
    },
  };
}
