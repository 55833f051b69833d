import { BullJobQueue } from './bull-job-queue.js';
import type { JobQueue } from './job-queue.js';
import { MemoryJobQueue } from './memory-job-queue.js';
import { TracedJobQueue, type Traced } from './traced-job-queue.js';
import type { Logger } from '../shared/logger.js';

/**
 * The one place that picks the queue implementation: BullMQ when REDIS_URL is set, in-process
 * otherwise; either carries the trace of whoever adds a job (traced-job-queue.ts). Nothing else
 * knows which one runs.
 */
export function createJobQueue<T>(
  name: string,
  config: { redisUrl?: string; queuePrefix: string; jobLockDurationMs?: number },
  logger: Logger,
): JobQueue<T> {
  if (!config.redisUrl) return new TracedJobQueue<T>(new MemoryJobQueue<Traced<T>>(name), 'memory');
  const bull = new BullJobQueue<Traced<T>>(name, {
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    lockDurationMs: config.jobLockDurationMs,
    logger,
  });
  return new TracedJobQueue<T>(bull, 'bullmq');
}
