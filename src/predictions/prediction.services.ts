import type { EntityManager } from '@mikro-orm/postgresql';
import type { Metering } from '../billing/metering.types.js';
import type { CatalogGeneration } from '../catalog/catalog-generation.js';
import type { Config } from '../config.js';
import { FINAL_PREDICTION_STATUSES, PredictionMode } from '../entities/enums.js';
import { ModelVersion } from '../entities/model-version.entity.js';
import type { InferencePool } from '../inference/inference-pool.js';
import type { JobQueue } from '../jobs/job-queue.js';
import { jobOutcomes } from '../observability/metrics.js';
import type { Logger } from '../shared/logger.js';
import type { ModelStorage } from '../storage/model-storage.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import type { WebhookServices } from '../webhooks/webhook.services.js';
import { BatchPredictionService } from './batch-prediction.service.js';
import type { BatchJob } from './batch-progress.js';
import { BatchRunner } from './batch-runner.js';
import { publishPredictionEvent } from './prediction-events.js';
import { PredictionJobRunner } from './prediction-job-runner.js';
import { PredictionJobService } from './prediction-job.service.js';
import type { PredictionJob, PredictionJobDeps } from './prediction-job.types.js';
import { PredictionTransitions } from './prediction-transitions.js';
import { PredictionService } from './prediction.service.js';
import { VersionPaths } from './runnable-version.js';

export type PredictionParts = {
  fork: () => EntityManager;
  engine: InferencePool;
  storage: ModelStorage;
  events: EventBus;
  queue: JobQueue<PredictionJob>;
  /** Batch predictions' expansion jobs (one per batch: its file made into queued predictions). */
  batchQueue: JobQueue<BatchJob>;
  metering: Metering;
  generation: CatalogGeneration;
  webhooks: Pick<WebhookServices, 'allowList' | 'dispatcher'>;
  logger: Logger;
  /** Called after the commit that metered a prediction, on either path (drives `usageUpdated`). */
  onMetered: (userId: string) => void;
};

/**
 * Predictions' services, wired once: `predict` (synchronous), the queued jobs' API side and their
 * runner (the worker side), sharing one version cache, one set of transitions and one publisher.
 */
export function createPredictionServices(
  config: Pick<Config, 'inference' | 'jobs' | 'predictVersionCacheTtlMs' | 'uploadMaxBytes'>,
  parts: PredictionParts,
) {
  const limits = { maxRequestBytes: config.inference.maxRequestBytes, timeoutMs: config.inference.timeoutMs };
  const predictions = new PredictionService(
    {
      engine: parts.engine,
      storage: parts.storage,
      metering: parts.metering,
      logger: parts.logger,
      limits,
      onMetered: parts.onMetered,
      versionCacheTtlMs: config.predictVersionCacheTtlMs,
    },
    parts.generation,
  );
  // Set below (it needs jobDeps' limits): a batch row's events drive its batch's progress.
  const late: { batchRunner?: BatchRunner } = {};
  const jobDeps: PredictionJobDeps = {
    engine: parts.engine,
    paths: new VersionPaths(parts.storage),
    metering: parts.metering,
    queue: parts.queue,
    fork: parts.fork,
    events: parts.events,
    publish: (event) => {
      // Every final status is published once, after its commit: the outcome counter rides on it.
      if (FINAL_PREDICTION_STATUSES.includes(event.status)) {
        jobOutcomes.inc({ mode: PredictionMode.ASYNC, status: event.status });
      }
      if (event.batchId) late.batchRunner?.rowChanged(event.batchId);
      return publishPredictionEvent(parts.events, event);
    },
    webhook: (userId, url, type, eventId, data) => parts.webhooks.dispatcher.send(userId, url, type, eventId, data),
    webhookAllow: parts.webhooks.allowList,
    logger: parts.logger.child({ component: 'jobs' }),
    limits: {
      ...limits,
      attempts: config.jobs.attempts,
      backoffMs: config.jobs.backoffMs,
      streamRecheckMs: config.jobs.streamRecheckMs,
      dataRetentionMs: config.jobs.dataRetentionMs,
    },
    onMetered: parts.onMetered,
  };
  const transitions = new PredictionTransitions(jobDeps);
  const batchRunner = new BatchRunner({
    fork: parts.fork,
    storage: parts.storage,
    events: parts.events,
    batches: parts.batchQueue,
    predictions: parts.queue,
    metering: parts.metering,
    limits: jobDeps.limits,
    logger: parts.logger.child({ component: 'batches' }),
  });
  late.batchRunner = batchRunner;
  const batches = new BatchPredictionService(
    {
      storage: parts.storage,
      events: parts.events,
      metering: parts.metering,
      batches: parts.batchQueue,
      limits: { ...jobDeps.limits, maxRows: config.jobs.batchMaxRows, maxFileBytes: config.uploadMaxBytes },
      logger: parts.logger,
      recheckMs: config.jobs.streamRecheckMs,
    },
    predictions.versions,
  );
  return {
    batches,
    batchRunner,
    predictions,
    // A createPrediction resolves its version through predict's cache: no catalog reads while it lives.
    predictionJobs: new PredictionJobService(jobDeps, transitions, predictions.versions),
    predictionRunner: new PredictionJobRunner(jobDeps, transitions),
    /**
     * Loads and warms a version in the pool once it is READY, so that its first prediction does
     * not pay for the load; in the background, logging what goes wrong.
     */
    warmWhenReady: (versionId: string) => {
      void (async () => {
        const version = await parts.fork().findOne(ModelVersion, { id: versionId });
        if (!version) return;
        const { warmupError } = await predictions.warmVersion(version);
        if (warmupError) parts.logger.warn({ versionId, warmupError }, 'warm-up run failed on a synthetic input');
      })().catch((err: unknown) => parts.logger.warn({ err, versionId }, 'could not warm a READY version'));
    },
  };
}

export type PredictionServices = ReturnType<typeof createPredictionServices>;
