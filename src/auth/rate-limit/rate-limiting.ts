import type { Redis } from 'ioredis';
import type { ApolloServerPlugin } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import type { Logger } from '../../shared/logger.js';
import type { RateLimitConfig } from '../auth.config.js';
import { clientIpOf } from '../transport-auth.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import { classifyOperation, RateLimitedError, RateLimitPolicy } from './rate-limit.policy.js';
import type { RateLimiter } from './rate-limiter.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';

/** The one place that picks the implementation: Redis buckets when there is a Redis, else in-process. */
export function createRateLimiter(config: RateLimitConfig, redis: Redis | undefined): RateLimiter {
  return redis ? new RedisRateLimiter(redis, config.prefix) : new MemoryRateLimiter();
}

export function createRateLimitPolicy(
  config: RateLimitConfig,
  redis: Redis | undefined,
  logger: Logger,
): RateLimitPolicy {
  return new RateLimitPolicy(createRateLimiter(config, redis), config, logger);
}

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
              clientIpOf(contextValue),
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
