import type { EntityManager } from '@mikro-orm/postgresql';
import type { Metering } from '../billing/metering.types.js';
import type { PredictionStatus } from '../entities/enums.js';
import type { InferencePool } from '../inference/inference-pool.js';
import type { OutputEncoding, TensorInputLike } from '../inference/tensor-codec.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { Logger } from '../shared/logger.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import type { WebhookAllowList } from '../webhooks/webhook-target.js';
import type { VersionPaths } from './runnable-version.js';

/** What the queue carries: the id alone; the row holds everything else (and no secrets). */
export type PredictionJob = { predictionId: string };

export type PredictionEvent = {
  predictionId: string;
  userId: string;
  status: PredictionStatus;
  /** When the change was committed (ISO 8601, UTC). */
  at: string;
  /** Set when the prediction is a row of a batch. */
  batchId?: string;
};

export type WebhookEventName = 'started' | 'completed';

/** Inputs kept on the row until the job is final (then cleared): the request as it came. */
export type StoredInputs = {
  tensors: TensorInputLike[];
  outputEncoding: OutputEncoding;
  /** The outputs asked for, in signature order; absent: all. */
  outputs?: readonly string[];
};

export type CreatePredictionArgs = {
  modelId: string;
  version?: string | null;
  inputs: readonly TensorInputLike[];
  outputEncoding?: OutputEncoding | null;
  /** Only these outputs are kept and returned; absent: all of them. */
  outputs?: readonly string[] | null;
  webhookUrl?: string | null;
  webhookEvents?: readonly WebhookEventName[] | null;
  idempotencyKey?: string | null;
  /** Not started by then: CANCELED. Still running then: stopped and CANCELED. */
  deadline?: Date | null;
  /** Seconds (at most MAX_WAIT_SECONDS) to wait for a final state before answering; absent or 0: none. */
  wait?: number | null;
  /** Keep its tensors at most this long after it ends (shorter than the deployment's and the model's only). */
  dataRetentionSeconds?: number | null;
};

/** The longest `createPrediction(wait:)`: a client that needs longer follows the job instead. */
export const MAX_WAIT_SECONDS = 60;

/** What the prediction jobs' API, runner and transitions are made from (prediction.services.ts). */
export type PredictionJobDeps = {
  engine: Pick<InferencePool, 'run'>;
  paths: VersionPaths;
  metering: Metering;
  queue: JobQueue<PredictionJob>;
  /** A fresh EntityManager fork for each job (never the global one). */
  fork: () => EntityManager;
  /** Published after the commit that made the status true. */
  publish: (event: PredictionEvent) => Promise<void>;
  /** Where those events arrive (`createPrediction(wait:)` listens for its job's). */
  events: EventBus;
  /** Queues a webhook delivery (at least once, deduplicated by event id on the receiver). */
  webhook?: (
    userId: string,
    url: string,
    type: string,
    eventId: string,
    data: Record<string, unknown>,
  ) => Promise<void>;
  webhookAllow: WebhookAllowList;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  limits: {
    maxRequestBytes: number;
    timeoutMs: number;
    attempts: number;
    backoffMs: number;
    /** `predictionUpdated` re-reads the row after this long without an event (0: never). */
    streamRecheckMs?: number;
    /** PREDICTION_DATA_RETENTION_HOURS in ms (0: kept until deleted): for `dataExpiresAt`. */
    dataRetentionMs?: number;
  };
  /** Called after the commit that metered a prediction (drives `usageUpdated`). */
  onMetered?: (userId: string) => void;
};
