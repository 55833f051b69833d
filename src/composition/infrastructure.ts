import type { Redis } from 'ioredis';
import { createRateLimitPolicy } from '../auth/rate-limit/create-rate-limit-policy.js';
import type { RateLimitPolicy } from '../auth/rate-limit/rate-limit.policy.js';
import { SandboxModelValidator } from '../catalog/model-validator.js';
import type { Config } from '../config.js';
import { migrate, openDatabase, type Database } from '../db/database.js';
import { InferencePool } from '../inference/inference-pool.js';
import { createJobQueue } from '../jobs/create-job-queue.js';
import type { JobQueue } from '../jobs/job-queue.js';
import { observeInferencePool, observePredictionQueue } from '../observability/metrics.js';
import type { BatchJob } from '../predictions/batch-progress.js';
import type { PredictionJob } from '../predictions/prediction-job.types.js';
import type { Logger } from '../shared/logger.js';
import { closeRedis, createRedis } from '../shared/redis.js';
import type { ModelStorage } from '../storage/model-storage.js';
import { openStorage } from '../storage/open-storage.js';
import { createEventBus, type EventBus } from '../subscriptions/event-bus.js';
import type { WebhookJob } from '../webhooks/webhook-dispatcher.js';

/**
 * Everything a process talks to, chosen once from the config (the seams of the architecture:
 * embedded or distributed, nothing else knows which): the database, Redis, the event bus, model
 * storage, the inference pool, the upload validator, the job queues and the rate limiter.
 */
export type Infrastructure = {
  db: Database;
  /** The app's shared Redis client when REDIS_URL is set (rate limits, catalog generation). */
  redis?: Redis;
  events: EventBus;
  storage: ModelStorage;
  inference: InferencePool;
  validator: SandboxModelValidator;
  queues: { predictions: JobQueue<PredictionJob>; webhooks: JobQueue<WebhookJob>; batches: JobQueue<BatchJob> };
  rateLimits: RateLimitPolicy;
  /**
   * Closes what was opened, in reverse order, naming each stage (the shutdown deadline reports
   * the one it stuck in); the validator is not among them (the app closes it first: app.ts).
   */
  close(step?: (name: string) => void): Promise<void>;
};

type Closer = { name: string; close: () => Promise<void> | void };

/**
 * Opens the infrastructure. Migrations run here on the embedded default (there is no one else
 * to run them) and when MIGRATE_ON_START asks; otherwise `npm run migrate` does it and the
 * readiness probe stays false until it has. A failure part-way closes what was opened.
 */
export async function createInfrastructure(config: Config, logger: Logger): Promise<Infrastructure> {
  const closers: Closer[] = [];
  const closeAll = async (step: (name: string) => void = () => undefined) => {
    for (const c of closers.splice(0).reverse()) {
      step(c.name);
      await c.close();
    }
  };
  try {
    // MikroORM's own messages (one per migration step) at debug: 'migrations applied' sums them up.
    const db = await openDatabase(config, (message) => logger.debug({ component: 'orm' }, message));
    closers.push({ name: 'database', close: () => db.close() });
    if (config.migrateOnStart === 'true' || (config.migrateOnStart === 'auto' && db.embedded)) {
      const applied = await migrate(db.orm);
      if (applied.length) logger.info({ applied }, 'migrations applied');
    }
    // On the request path (rate limits): while Redis is down a command fails within a second
    // (the limiter then lets the request through) instead of waiting out ioredis' reconnects.
    const redis = config.redisUrl
      ? createRedis(config.redisUrl, { connectionName: 'mm-app', commandTimeout: 1000 })
      : undefined;
    if (redis) closers.push({ name: 'redis', close: () => closeRedis(redis) });
    const rateLimits = createRateLimitPolicy(config.rateLimit, redis, logger);
    closers.push({ name: 'rate limits', close: () => rateLimits.close() });
    const events = createEventBus({ redisUrl: config.redisUrl, prefix: config.pubSubPrefix });
    closers.push({ name: 'event bus', close: () => events.close() });
    const storage = openStorage(config, logger);
    closers.push({ name: 'storage', close: () => storage.close?.() });

    const poolOptions = { ...config.inference, logger: logger.child({ component: 'inference' }) };
    const inference =
      config.inference.start === 'lazy' ? InferencePool.lazy(poolOptions) : await InferencePool.start(poolOptions);
    const stopObservingPool = observeInferencePool(inference);
    // After the HTTP server has drained: anything still queued fails as retryable.
    closers.push({
      name: 'inference pool',
      close: () => {
        stopObservingPool();
        return inference.close();
      },
    });

    const queueConfig = {
      redisUrl: config.redisUrl,
      queuePrefix: config.jobs.queuePrefix,
      jobLockDurationMs: config.jobs.lockMs,
    };
    const jobsLogger = logger.child({ component: 'jobs' });
    const predictions = createJobQueue<PredictionJob>('predictions', queueConfig, jobsLogger);
    const webhooks = createJobQueue<WebhookJob>('webhooks', queueConfig, jobsLogger);
    const batches = createJobQueue<BatchJob>('batches', queueConfig, jobsLogger);
    const stopObservingQueue = observePredictionQueue(predictions);
    // Worker.close() waits for running jobs: they finish before the pool and database go away.
    closers.push({
      name: 'jobs',
      close: async () => {
        stopObservingQueue();
        await batches.close();
        await predictions.close();
        await webhooks.close();
      },
    });

    const validator = new SandboxModelValidator({
      budget: config.inference.admission,
      concurrency: config.inference.admission.concurrency,
      maxHeapMb: config.inference.workerMaxHeapMb,
      limitsMode: config.inference.sandboxLimits,
      warmupMaxBytes: config.inference.maxRequestBytes,
      logger: logger.child({ component: 'admission' }),
    });
    // Not among the closers: the app closes it first and then waits for the catalog's
    // bookkeeping of what it stopped (app.ts).

    return {
      db,
      redis,
      events,
      storage,
      inference,
      validator,
      queues: { predictions, webhooks, batches },
      rateLimits,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
