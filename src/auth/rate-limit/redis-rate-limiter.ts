import type { Redis } from 'ioredis';
import type { BucketSpec } from '../auth.config.js';
import type { RateLimitDecision, RateLimiter } from './rate-limiter.js';

/**
 * One atomic step of a token bucket, in Redis: every replica sharing the Redis shares the
 * buckets. The clock is Redis's own (`TIME`), so replicas with skewed clocks agree.
 * KEYS[1] bucket hash; ARGV: capacity, window (ms), cost.
 * Returns { allowed (0/1), tokens left (string: Lua numbers lose fractions in replies), retry ms, reset ms }.
 */
const TOKEN_BUCKET_LUA = `
local capacity = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local rate = capacity / window_ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
else
  tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
end
local allowed = 0
local retry_ms = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry_ms = math.ceil((cost - tokens) / rate)
end
local reset_ms = math.ceil((capacity - tokens) / rate)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], reset_ms + 1000)
return { allowed, tostring(tokens), retry_ms, reset_ms }
`;

type TokenBucketCommand = (
  key: string,
  capacity: number,
  windowMs: number,
  cost: number,
) => Promise<[number, string, number, number]>;

export class RedisRateLimiter implements RateLimiter {
  readonly kind = 'redis';

  /** `prefix` namespaces the keys (deployments or test files sharing one Redis). */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    // defineCommand: EVALSHA with the script's hash, falling back to EVAL once per connection.
    if (!('mmTokenBucket' in redis)) redis.defineCommand('mmTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET_LUA });
  }

  async consume(key: string, spec: BucketSpec, cost: number): Promise<RateLimitDecision> {
    const command = (this.redis as unknown as { mmTokenBucket: TokenBucketCommand }).mmTokenBucket.bind(this.redis);
    const [allowed, tokens, retryMs, resetMs] = await command(
      `${this.prefix}${key}`,
      spec.capacity,
      Math.round(spec.windowSeconds * 1000),
      cost,
    );
    return {
      allowed: allowed === 1,
      limit: spec.capacity,
      remaining: Math.floor(Number(tokens)),
      resetSeconds: Math.ceil(resetMs / 1000),
      retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(retryMs / 1000)),
    };
  }

  async close(): Promise<void> {
    // The client belongs to the app, which closes it.
  }
}
