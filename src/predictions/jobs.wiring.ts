import type { MikroORM } from '@mikro-orm/postgresql';
import type { Metering } from '../billing/metering.types.js';
import type { Config } from '../config.js';
import type { InferencePool } from '../inference/inference-pool.js';
import { createJobQueue } from '../jobs/create-job-queue.js';
import { observePredictionQueue } from '../observability/metrics.js';
import type { Logger } from '../shared/logger.js';
import type { ModelStorage } from '../storage/model-storage.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import { webhookSecretOf } from '../webhooks/webhook-secret.service.js';
import { WebhookDispatcher, type WebhookJob } from '../webhooks/webhook-dispatcher.js';
import { WebhookAllowList } from '../webhooks/webhook-target.js';
import type { AsyncPredictionDeps, AsyncPredictionService, PredictionJob } from './async-prediction.service.js';
import { publishPredictionEvent } from './prediction-events.js';
import { FINAL_PREDICTION_STATUSES, PredictionMode } from '../entities/enums.js';
import { jobOutcomes } from '../observability/metrics.js';
import { VersionPaths } from './runnable-version.js';

/**
 * Builds the async path's moving parts from config: the two queues (BullMQ with REDIS_URL,
 * in-process otherwise), the webhook dispatcher and the service's dependencies; `start` turns
 * this process into a worker (RUN_JOBS) with a periodic sweeper; `close` stops taking jobs and
 * waits for the running ones.
 */
export function createJobs(
  config: Pick<Config, 'redisUrl' | 'jobs' | 'webhooks' | 'inference'>,
  parts: {
    orm: MikroORM;
    engine: InferencePool;
    storage: ModelStorage;
    metering: Metering;
    events: EventBus;
    logger: Logger;
  },
) {
  const queueConfig = {
    redisUrl: config.redisUrl,
    queuePrefix: config.jobs.queuePrefix,
    jobLockDurationMs: config.jobs.lockMs,
  };
  const logger = parts.logger.child({ component: 'jobs' });
  const predictionQueue = createJobQueue<PredictionJob>('predictions', queueConfig, logger);
  const webhookQueue = createJobQueue<WebhookJob>('webhooks', queueConfig, logger);
  const stopObservingQueue = observePredictionQueue(predictionQueue);
  const dispatcher = new WebhookDispatcher({
    queue: webhookQueue,
    secretFor: (userId) => webhookSecretOf(parts.orm.em.fork(), userId),
    allow: new WebhookAllowList(config.webhooks.allowedHosts),
    logger: parts.logger.child({ component: 'webhooks' }),
    timeoutMs: config.webhooks.timeoutMs,
    attempts: config.webhooks.attempts,
    backoffMs: config.webhooks.backoffMs,
    concurrency: 16,
  });
  const deps: AsyncPredictionDeps = {
    engine: parts.engine,
    paths: new VersionPaths(parts.storage),
    metering: parts.metering,
    queue: predictionQueue,
    fork: () => parts.orm.em.fork(),
    publish: (event) => {
      // Every final status is published once, after its commit: the outcome counter rides on it.
      if (FINAL_PREDICTION_STATUSES.includes(event.status)) {
        jobOutcomes.inc({ mode: PredictionMode.ASYNC, status: event.status });
      }
      return publishPredictionEvent(parts.events, event);
    },
    webhook: async (userId, url, type, eventId, data) => {
      await dispatcher.dispatch(userId, url, { type, timestamp: new Date().toISOString(), data }, eventId);
    },
    webhookAllow: new WebhookAllowList(config.webhooks.allowedHosts),
    logger,
    limits: {
      maxRequestBytes: config.inference.maxRequestBytes,
      timeoutMs: config.inference.timeoutMs,
      attempts: config.jobs.attempts,
      backoffMs: config.jobs.backoffMs,
      streamRecheckMs: config.jobs.streamRecheckMs,
    },
  };

  let sweeper: NodeJS.Timeout | undefined;
  let firstSweep: NodeJS.Timeout | undefined;
  let closed = false;
  return {
    deps,
    predictionQueue,
    /** Runs queued predictions and webhook deliveries here, and sweeps for lost jobs. */
    start(service: AsyncPredictionService, options: { force?: boolean } = {}) {
      if (!config.jobs.run && !options.force) return;
      service.startWorker(config.jobs.concurrency);
      dispatcher.start();
      const sweep = async () => {
        if (closed) return;
        await service
          .sweep(config.jobs.sweepStaleMs)
          .catch((err: unknown) => logger.warn({ err }, 'prediction sweep failed'));
      };
      // One sweep soon after start picks up what a stopped in-process queue held.
      firstSweep = setTimeout(() => void sweep(), 1000);
      firstSweep.unref();
      sweeper = setInterval(() => void sweep(), config.jobs.sweepIntervalMs);
      sweeper.unref();
    },
    async close() {
      // No sweep may start against a database that is about to close.
      closed = true;
      if (firstSweep) clearTimeout(firstSweep);
      if (sweeper) clearInterval(sweeper);
      stopObservingQueue();
      await predictionQueue.close();
      await webhookQueue.close();
    },
  };
}
