import { z } from 'zod';

/**
 * The GraphQL hardening limits: depth, cost, aliases and operations per document, and WebSocket
 * connections and subscriptions. src/config.ts spreads `GRAPHQL_ENV` into its schema and calls
 * `graphqlConfigFrom`, so the environment is still parsed once, with one error format.
 */
const positiveInt = (fallback: number, max = 1_000_000_000) =>
  z.coerce.number().int().min(1).max(max).default(fallback);

export const GRAPHQL_ENV = {
  GRAPHQL_MAX_DEPTH: positiveInt(15, 100),
  GRAPHQL_MAX_COST: positiveInt(20_000),
  GRAPHQL_MAX_ALIASES: positiveInt(30, 10_000),
  // GraphiQL sends the whole editor (several operations) with an operationName.
  GRAPHQL_MAX_OPERATIONS: positiveInt(5, 100),
  WS_MAX_CONNECTIONS_PER_USER: positiveInt(10, 10_000),
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: positiveInt(20, 10_000),
} as const;

type GraphQLEnv = z.output<z.ZodObject<typeof GRAPHQL_ENV>>;

export function graphqlConfigFrom(e: GraphQLEnv) {
  return {
    graphqlLimits: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxCost: e.GRAPHQL_MAX_COST,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxOperations: e.GRAPHQL_MAX_OPERATIONS,
      wsMaxConnectionsPerUser: e.WS_MAX_CONNECTIONS_PER_USER,
      wsMaxSubscriptionsPerConnection: e.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
    },
  };
}

export type GraphQLSettings = ReturnType<typeof graphqlConfigFrom>;
export type GraphQLLimitsConfig = GraphQLSettings['graphqlLimits'];
