import type { ApolloServerPlugin } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { classifyOperation, RateLimitedError, type RateLimitPolicy } from '../auth/rate-limit/rate-limit.policy.js';
import type { GraphQLContext } from './context.js';

/** RATE_LIMITED as a GraphQL error: 429 with Retry-After and RateLimit-* headers over HTTP. */
export function rateLimitedGraphQLError(err: RateLimitedError): GraphQLError {
  return new GraphQLError(err.message, {
    extensions: {
      ...err.details,
      code: err.code,
      http: { status: 429, headers: new HeaderMap(Object.entries(err.headers)) },
    },
  });
}

/**
 * Apollo plugin: one bucket check per operation once it is parsed and validated (so the class
 * is known), and the RateLimit-* headers on every answer.
 */
export function rateLimitPlugin(policy: RateLimitPolicy): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      let headers: Record<string, string> = {};
      return {
        async didResolveOperation({ contextValue, document, operationName }) {
          try {
            ({ headers } = await policy.check(
              contextValue.caller,
              contextValue.clientIp,
              classifyOperation(document, operationName),
            ));
          } catch (err) {
            if (err instanceof RateLimitedError) throw rateLimitedGraphQLError(err);
            throw err;
          }
        },
        async willSendResponse({ response }) {
          for (const [name, value] of Object.entries(headers)) response.http.headers.set(name, value);
        },
      };
    },
  };
}
