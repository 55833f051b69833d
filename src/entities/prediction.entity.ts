import { defineEntity, p } from '@mikro-orm/core';
import { createdAt, currency, money, updatedAt, uuidPrimaryKey } from './columns.js';
import { PredictionMode, PredictionStatus } from './enums.js';
import { ApiKey } from './api-key.entity.js';
import { BatchPrediction } from './batch-prediction.entity.js';
import { ModelVersion } from './model-version.entity.js';
import { Model } from './model.entity.js';
import { User } from './user.entity.js';

const PredictionSchema = defineEntity({
  name: 'Prediction',
  tableName: 'predictions',
  properties: {
    id: uuidPrimaryKey(),
    /** The consumer who asked for it (and pays for it). */
    user: () => p.manyToOne(User),
    apiKey: () => p.manyToOne(ApiKey).nullable().deleteRule('set null'),
    model: () => p.manyToOne(Model),
    version: () => p.manyToOne(ModelVersion).index(),
    /** The batch it is a row of (createBatchPrediction), and which line of its file. */
    batch: () => p.manyToOne(BatchPrediction).nullable().deleteRule('cascade'),
    batchRow: p.integer().nullable(),
    mode: p.enum(() => PredictionMode),
    status: p.enum(() => PredictionStatus).default(PredictionStatus.QUEUED),
    /**
     * Async jobs keep their input tensors until they run (raw bytes as base64 in JSON, so the
     * row alone is enough for any worker to run the job); cleared once the job is final.
     */
    inputs: p.json<unknown>().nullable().lazy(),
    outputs: p.json<unknown>().nullable().lazy(),
    /** When its tensors were deleted (retention, or the consumer asked); the record and bill stay. */
    dataRemovedAt: p.datetime().nullable(),
    /**
     * Kept this long after it ends when shorter than PREDICTION_DATA_RETENTION_HOURS: the
     * consumer's `dataRetentionSeconds` or the model's `dataRetentionHours`, whichever is shorter,
     * fixed when the job was created. Null: the deployment's retention.
     */
    dataRetentionSeconds: p.integer().nullable(),
    errorCode: p.string().length(64).nullable(),
    errorMessage: p.text().nullable(),
    /** Client-chosen key: a retried createPrediction with the same key returns the same job. */
    idempotencyKey: p.string().length(200).nullable(),
    webhookUrl: p.text().nullable(),
    webhookEvents: p.array().default([]),
    deadlineAt: p.datetime().nullable(),
    attempts: p.integer().default(0),
    /** Where it ran, e.g. `cpu` or `webgpu:0`. */
    device: p.string().length(32).nullable(),
    batchSize: p.integer().nullable(),
    startedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
    queueTimeMs: p.double().nullable(),
    inferenceTimeMs: p.double().nullable(),
    /**
     * The price per request in force when the prediction was accepted (a queued job: when it was
     * created), which is what it is billed at; and what it cost once metered (0 when free).
     */
    unitPrice: money().nullable(),
    cost: money().nullable(),
    /** The model's free requests per month when it was accepted (a queued job's snapshot). */
    freeAllowance: p.integer().nullable(),
    /**
     * What a queued job holds against its consumer's spending cap until it ends (its price; null
     * without a cap): released when it succeeds (replaced by its cost), fails or is canceled.
     */
    reservedAmount: money().nullable(),
    currency: currency(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  uniques: [
    { name: 'predictions_user_idempotency_key_unique', properties: ['user', 'idempotencyKey'] },
    // One prediction per line: a resumed expansion cannot add a row twice.
    { name: 'predictions_batch_row_unique', properties: ['batch', 'batchRow'] },
  ],
  indexes: [
    { name: 'predictions_user_created_at_index', properties: ['user', 'createdAt'] },
    { name: 'predictions_model_created_at_index', properties: ['model', 'createdAt'] },
    // The retention sweep's candidates: finished predictions that still hold tensors.
    {
      name: 'predictions_data_kept_index',
      expression:
        'create index "predictions_data_kept_index" on "predictions" ("completed_at") where "data_removed_at" is null',
    },
    { name: 'predictions_status_created_at_index', properties: ['status', 'createdAt'] },
    // The retention sweep walks finished predictions by end time.
    { name: 'predictions_completed_at_index', properties: ['completedAt'] },
  ],
});

export class Prediction extends PredictionSchema.class {}
PredictionSchema.setClass(Prediction);
