import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.js';
import type { RateLimitConfig } from '../auth.config.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import { RateLimitPolicy } from './rate-limit.policy.js';
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
