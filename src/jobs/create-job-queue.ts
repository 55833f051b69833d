import { BullJobQueue } from './bull-job-queue.js';
import type { JobQueue } from './job-queue.js';
import { MemoryJobQueue } from './memory-job-queue.js';
import type { Logger } from '../shared/logger.js';

/**
 * The one place that picks the queue implementation: BullMQ when REDIS_URL is set, in-process
 * otherwise. Nothing else knows which one runs.
 */
export function createJobQueue<T>(
  name: string,
  config: { redisUrl?: string; queuePrefix: string; jobLockDurationMs?: number },
  logger: Logger,
): JobQueue<T> {
  if (!config.redisUrl) return new MemoryJobQueue<T>(name);
  return new BullJobQueue<T>(name, {
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    lockDurationMs: config.jobLockDurationMs,
    logger,
  });
}
