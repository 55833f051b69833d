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
  config: Pick<Config, 'jobs' | 'billing' | 'pubSubPrefix' | 'mail'>,
  services: Pick<Services, 'predictionRunner' | 'batchRunner' | 'webhookDispatcher' | 'billing' | 'mail'>,
  infra: Pick<Infrastructure, 'db' | 'redis'>,
  logger: Logger,
): RunningJobs {
  let stopped = false;
  const timers: NodeJS.Timeout[] = [];
  /** Runs `task` once after `firstMs`, then every `everyMs`, until stop(); its errors are logged. */
  const repeat = (
    what: { name: string; component: string },
    task: () => Promise<unknown>,
    firstMs: number,
    everyMs: number,
  ) => {
    const run = () => {
      if (stopped) return;
      task().catch((err: unknown) => logger.warn({ err, component: what.component }, `${what.name} failed`));
    };
    const first = setTimeout(run, firstMs);
    const every = setInterval(run, everyMs);
    first.unref();
    every.unref();
    timers.push(first, every);
  };
  services.predictionRunner.start(config.jobs.concurrency);
  services.webhookDispatcher.start();
  services.batchRunner.start();
  // Mail due: retries, and mail whose writer stopped before sending it.
  services.mail.sender.start(config.mail.pollMs);
  // One sweep soon after start picks up what a stopped in-process queue held.
  repeat(
    { name: 'prediction sweep', component: 'jobs' },
    async () => {
      await services.predictionRunner.sweep(config.jobs.sweepStaleMs);
      await services.batchRunner.sweep(config.jobs.sweepStaleMs);
    },
    1000,
    config.jobs.sweepIntervalMs,
  );

  // Prediction data past retention, every minute, so that a job's own short retention (an hour,
  // a minute) is kept to within a minute; each sweep removes in bounded batches, through an index
  // of the predictions that still hold data.
  const retention = new PredictionRetention(() => infra.db.orm.em.fork(), logger.child({ component: 'retention' }));
  repeat(
    { name: 'prediction data sweep', component: 'retention' },
    () => retention.sweep(config.jobs.dataRetentionMs),
    10_000,
    60_000,
  );

  // The monthly close, by itself: one replica at a time holds the period's lock (Redis), or this
  // process alone on the embedded default. Its own failures are logged by the schedule.
  const close = config.billing.autoClose;
  if (close.enabled) {
    const schedule = new BillingSchedule(
      services.billing.invoices,
      () => infra.db.orm.em.fork(),
      infra.redis ? redisLock(infra.redis) : processLock(),
      logger.child({ component: 'billing' }),
      { delayMs: close.delayMs, lockTtlMs: 30 * 60_000, lockKey: `${config.pubSubPrefix}billing:close` },
    );
    repeat({ name: 'scheduled billing close', component: 'billing' }, () => schedule.tick(), 5000, close.checkMs);
  }
  return {
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
    },
  };
}
