import type { ModelVersionStatus, PredictionStatus } from '../entities/enums.js';

/**
 * Every pub/sub topic and the payload it carries, in one place. Payloads stay small and
 * primitive (ids, statuses, ISO timestamps): they cross Redis as JSON, and subscribers load
 * whatever else they show from the database with their own EntityManager fork.
 */
export type TopicPayloads = {
  /** A model version's validation progressed (PROCESSING → READY/FAILED) or it was deprecated. */
  MODEL_VERSION_STATUS_CHANGED: {
    modelId: string;
    versionId: string;
    status: ModelVersionStatus;
    /** When the change was committed (ISO 8601, UTC). */
    at: string;
  };
  /** A prediction changed status (keyed by prediction id: `predictionUpdated(id)`). */
  PREDICTION_UPDATED: PredictionEventPayload;
  /** The same events keyed by the consumer's user id (`myPredictionEvents`). */
  USER_PREDICTION_EVENTS: PredictionEventPayload;
  /** The consumer's usage changed (keyed by user id; coalesced, a few per second at most). */
  USAGE_UPDATED: { userId: string; at: string };
  /** A consumer's usage alert fired (keyed by user id; once per alert and month). */
  USAGE_ALERTS: UsageAlertEventPayload;
  /** A batch's progress or state changed (keyed by batch id; a few per second at most). */
  BATCH_PREDICTION_UPDATED: { batchId: string; userId: string; at: string };
};

export type UsageAlertEventPayload = {
  alertId: string;
  userId: string;
  /** The month (UTC) whose spend crossed it, as YYYY-MM-01. */
  periodStart: string;
  /** Exact decimals. */
  threshold: string;
  spent: string;
  currency: string;
  percentOfCap: number | null;
  at: string;
};

export type PredictionEventPayload = {
  predictionId: string;
  userId: string;
  status: PredictionStatus;
  /** When the change was committed (ISO 8601, UTC). */
  at: string;
  /** Set when the prediction is a row of a batch (createBatchPrediction). */
  batchId?: string;
};

export type Topic = keyof TopicPayloads;

/** The channel a topic's events travel on, one per key (e.g. per model), under a prefix. */
export function channelOf(prefix: string, topic: Topic, key: string): string {
  return `${prefix}${topic}:${key}`;
}
