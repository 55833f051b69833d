import type { Config } from '../config.js';
import type { Services } from '../services.js';
import type { Logger } from '../shared/logger.js';

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
  config: Config['jobs'],
  services: Pick<Services, 'predictionRunner' | 'webhookDispatcher'>,
  logger: Logger,
): RunningJobs {
  let stopped = false;
  services.predictionRunner.start(config.concurrency);
  services.webhookDispatcher.start();
  const sweep = async () => {
    if (stopped) return;
    await services.predictionRunner
      .sweep(config.sweepStaleMs)
      .catch((err: unknown) => logger.warn({ err, component: 'jobs' }, 'prediction sweep failed'));
  };
  // One sweep soon after start picks up what a stopped in-process queue held.
  const firstSweep = setTimeout(() => void sweep(), 1000);
  firstSweep.unref();
  const sweeper = setInterval(() => void sweep(), config.sweepIntervalMs);
  sweeper.unref();
  return {
    stop() {
      stopped = true;
      clearTimeout(firstSweep);
      clearInterval(sweeper);
    },
  };
}
