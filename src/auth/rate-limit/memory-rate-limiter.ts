import type { BucketSpec } from '../auth.config.js';
import { takeTokens, type RateLimitDecision, type RateLimiter } from './rate-limiter.js';

/**
 * Buckets in this process's memory: right for one process (the embedded default). Full buckets
 * carry no information, so a periodic sweep drops them and memory stays proportional to the
 * callers active in the last window.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly kind = 'memory';
  private readonly buckets = new Map<string, { tokens: number; updatedMs: number; fullAtMs: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async consume(key: string, spec: BucketSpec, cost: number): Promise<RateLimitDecision> {
    const nowMs = this.now();
    const { state, decision } = takeTokens(this.buckets.get(key), spec, cost, nowMs);
    this.buckets.set(key, { ...state, fullAtMs: nowMs + decision.resetSeconds * 1000 });
    return decision;
  }

  private sweep(): void {
    const nowMs = this.now();
    for (const [key, bucket] of this.buckets) if (bucket.fullAtMs <= nowMs) this.buckets.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.buckets.clear();
  }
}
