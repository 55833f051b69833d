import { BillingSchedule, processLock, redisLock } from '../billing/billing-schedule.js';
import { PredictionRetention } from '../predictions/prediction-retention.js';
import type { Config } from '../config.js';
import type { Services } from '../services.js';
import type { Logger } from '../shared/logger.js';
import type { Infrastructure } from './infrastructure.js';

export type RunningJobs = {
  /** Stops the sweeper; the queues' own close (infrastructure.ts) waits for the running jobs. */
  stop(): void;
};

/**
 * Makes this process a job worker: queued predictions and webhook deliveries run here, and a
 * periodic sweeper puts back jobs the queue lost (an enqueue that failed after its commit, a
 * process that died holding the in-process queue).
 */
export function startJobs(
  config: Pick<Config, 'jobs' | 'billing' | 'pubSubPrefix'>,
  services: Pick<Services, 'predictionRunner' | 'webhookDispatcher' | 'billing'>,
  infra: Pick<Infrastructure, 'db' | 'redis'>,
  logger: Logger,
): RunningJobs {
  let stopped = false;
  const timers: NodeJS.Timeout[] = [];
  services.predictionRunner.start(config.jobs.concurrency);
  services.webhookDispatcher.start();
  const sweep = async () => {
    if (stopped) return;
    await services.predictionRunner
      .sweep(config.jobs.sweepStaleMs)
      .catch((err: unknown) => logger.warn({ err, component: 'jobs' }, 'prediction sweep failed'));
  };
  // One sweep soon after start picks up what a stopped in-process queue held.
  const firstSweep = setTimeout(() => void sweep(), 1000);
  firstSweep.unref();
  const sweeper = setInterval(() => void sweep(), config.jobs.sweepIntervalMs);
  sweeper.unref();
  timers.push(firstSweep, sweeper);

  // Prediction data past retention, every 10 minutes (each sweep removes in bounded batches).
  const retention = new PredictionRetention(() => infra.db.orm.em.fork(), logger.child({ component: 'retention' }));
  const purge = () =>
    void (stopped
      ? undefined
      : retention
          .sweep(config.jobs.dataRetentionMs)
          .catch((err: unknown) => logger.warn({ err, component: 'retention' }, 'prediction data sweep failed')));
  const firstPurge = setTimeout(purge, 10_000);
  const purges = setInterval(purge, 10 * 60_000);
  firstPurge.unref();
  purges.unref();
  timers.push(firstPurge, purges);

  // The monthly close, by itself: one replica at a time holds the period's lock (Redis), or this
  // process alone on the embedded default.
  const close = config.billing.autoClose;
  if (close.enabled) {
    const schedule = new BillingSchedule(
      services.billing.invoices,
      () => infra.db.orm.em.fork(),
      infra.redis ? redisLock(infra.redis) : processLock(),
      logger.child({ component: 'billing' }),
      { delayMs: close.delayMs, lockTtlMs: 30 * 60_000, lockKey: `${config.pubSubPrefix}billing:close` },
    );
    const tick = () => void (stopped ? undefined : schedule.tick());
    const first = setTimeout(tick, 5000);
    const every = setInterval(tick, close.checkMs);
    first.unref();
    every.unref();
    timers.push(first, every);
  }
  return {
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
    },
  };
}
