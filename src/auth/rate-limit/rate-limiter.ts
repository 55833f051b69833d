import type { BucketSpec } from '../auth.config.js';

/** The outcome of taking tokens from one bucket. */
export type RateLimitDecision = {
  allowed: boolean;
  /** Bucket capacity (`RateLimit-Limit`). */
  limit: number;
  /** Whole tokens left after this request (`RateLimit-Remaining`). */
  remaining: number;
  /** Seconds until the bucket is full again (`RateLimit-Reset`). */
  resetSeconds: number;
  /** When refused: seconds until enough tokens are back (`Retry-After`, `extensions.retryAfter`). */
  retryAfterSeconds: number;
};

/**
 * Token buckets: `capacity` tokens, refilled continuously at `capacity / windowSeconds` per
 * second. One interface, two implementations (in-process, Redis), picked in `createRateLimiter`.
 */
export interface RateLimiter {
  readonly kind: 'memory' | 'redis';
  /** Takes `cost` tokens from the bucket `key` if it holds that many; never partially. */
  consume(key: string, spec: BucketSpec, cost: number): Promise<RateLimitDecision>;
  close(): Promise<void>;
}

/** The token-bucket arithmetic both implementations share (Redis runs the same steps in Lua). */
export function takeTokens(
  state: { tokens: number; updatedMs: number } | undefined,
  spec: BucketSpec,
  cost: number,
  nowMs: number,
): { state: { tokens: number; updatedMs: number }; decision: RateLimitDecision } {
  const ratePerMs = spec.capacity / (spec.windowSeconds * 1000);
  const elapsed = state ? Math.max(0, nowMs - state.updatedMs) : 0;
  let tokens = state ? Math.min(spec.capacity, state.tokens + elapsed * ratePerMs) : spec.capacity;
  const allowed = tokens >= cost;
  if (allowed) tokens -= cost;
  return {
    state: { tokens, updatedMs: nowMs },
    decision: {
      allowed,
      limit: spec.capacity,
      remaining: Math.floor(tokens),
      resetSeconds: Math.ceil((spec.capacity - tokens) / ratePerMs / 1000),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((cost - tokens) / ratePerMs / 1000)),
    },
  };
}
