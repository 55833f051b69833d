import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../shared/logger.js';
import { periodStartOf } from './billing-period.js';

/** Who may run this period's close now: one process at a time across replicas (Redis), or this one. */
export type CloseLock = {
  /** True when this caller holds the lock for `ttlMs` (or until released). */
  acquire(key: string, ttlMs: number): Promise<boolean>;
  release(key: string): Promise<void>;
};

/** In one process: a set of held keys. */
export function processLock(): CloseLock {
  const held = new Set<string>();
  return {
    acquire: async (key) => {
      if (held.has(key)) return false;
      held.add(key);
      return true;
    },
    release: async (key) => void held.delete(key),
  };
}

/** Across replicas: SET NX PX on the shared Redis, released only by its holder. */
export function redisLock(redis: {
  set(key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<string | null>;
  eval(script: string, keys: number, ...args: string[]): Promise<unknown>;
}): CloseLock {
  const token = `${process.pid}:${Math.random().toString(36).slice(2)}`;
  return {
    acquire: async (key, ttlMs) => (await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK',
    release: async (key) => {
      await redis.eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end",
        1,
        key,
        token,
      );
    },
  };
}

export type BillingScheduleOptions = {
  /** How long after a month ends its close runs (usage of jobs still running then comes in). */
  delayMs: number;
  /** How long a close may hold the lock (a crashed holder's lock expires after it). */
  lockTtlMs: number;
  lockKey: string;
  now?: () => Date;
};

/**
 * The monthly close, run by itself: each tick closes the previous month once it is `delayMs`
 * old. The close is idempotent (consumers already invoiced are skipped, unsent invoices are sent,
 * failed consumers are retried: invoice.service.ts), so ticking again is safe; the lock only
 * keeps replicas from doing the same work at once. Errors are logged, and the next tick retries.
 */
export class BillingSchedule {
  private readonly now: () => Date;
  /** Invoices per period at the last tick: a tick that made none logs at debug only. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly invoices: { closePeriod(em: EntityManager, periodStart: string): Promise<unknown[]> },
    private readonly fork: () => EntityManager,
    private readonly lock: CloseLock,
    private readonly logger: Pick<Logger, 'info' | 'warn' | 'debug'>,
    private readonly options: BillingScheduleOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** The month due for closing now, or null while the latest ended month is within the delay. */
  duePeriod(): string | null {
    const now = this.now();
    const current = periodStartOf(now);
    if (now.getTime() - new Date(`${current}T00:00:00Z`).getTime() < this.options.delayMs) {
      // The month that ended is not `delayMs` old yet: the one before it was closed last month.
      return null;
    }
    const [y, m] = current.split('-').map(Number) as [number, number];
    return m === 1 ? `${y - 1}-12-01` : `${y}-${String(m - 1).padStart(2, '0')}-01`;
  }

  /** Runs the due close if this process wins the lock; returns the period closed, if any. */
  async tick(): Promise<string | null> {
    const period = this.duePeriod();
    if (!period) return null;
    const key = `${this.options.lockKey}:${period}`;
    if (!(await this.lock.acquire(key, this.options.lockTtlMs))) return null;
    try {
      const invoices = await this.invoices.closePeriod(this.fork(), period);
      const log = this.seen.get(period) === invoices.length ? this.logger.debug : this.logger.info;
      log.call(this.logger, { periodStart: period, invoices: invoices.length }, 'billing period closed (scheduled)');
      this.seen.set(period, invoices.length);
      return period;
    } catch (err) {
      this.logger.warn({ err, periodStart: period }, 'scheduled billing close failed; the next tick retries');
      return null;
    } finally {
      await this.lock.release(key).catch(() => undefined);
    }
  }
}
