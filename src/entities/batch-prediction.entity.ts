import { defineEntity, p } from '@mikro-orm/core';
import { createdAt, currency, money, updatedAt, uuidPrimaryKey } from './columns.js';
import { BatchPredictionStatus } from './enums.js';
import { ApiKey } from './api-key.entity.js';
import { ModelVersion } from './model-version.entity.js';
import { Model } from './model.entity.js';
import { User } from './user.entity.js';

/**
 * Predictions from one JSONL file (createBatchPrediction): the file is kept in model storage and
 * expanded by a job into one queued prediction per line (predictions.batch_id, batch_row), which
 * run, batch and bill exactly like createPrediction's. The row counts are read from those
 * predictions; this row holds what belongs to the whole: the file, the pricing accepted, how far
 * expansion got (so a restarted job resumes there), and the results file once every row ended.
 */
const BatchPredictionSchema = defineEntity({
  name: 'BatchPrediction',
  tableName: 'batch_predictions',
  properties: {
    id: uuidPrimaryKey(),
    user: () => p.manyToOne(User),
    apiKey: () => p.manyToOne(ApiKey).nullable().deleteRule('set null'),
    model: () => p.manyToOne(Model),
    version: () => p.manyToOne(ModelVersion),
    status: p.enum(() => BatchPredictionStatus).default(BatchPredictionStatus.QUEUED),
    /** Lines in the file, each one prediction. */
    totalRows: p.integer(),
    /** Rows made into predictions so far (0…totalRows): where a resumed expansion starts. */
    expandedRows: p.integer().default(0),
    /** The uploaded JSONL, a model-storage key. */
    inputKey: p.string().length(200),
    inputBytes: p.bigint('number'),
    /** The results JSONL once every row ended, a model-storage key. */
    resultsKey: p.string().length(200).nullable(),
    outputEncoding: p.string().length(8).default('JSON'),
    /** Outputs asked for, in signature order; null: all. */
    outputs: p.json<string[]>().nullable(),
    /** The pricing accepted at creation, given to every row (as a queued job's snapshot). */
    unitPrice: money(),
    freeAllowance: p.integer(),
    currency: currency(),
    /** Why rows stopped being made (QUOTA_EXCEEDED), or why the batch FAILED. */
    errorCode: p.string().length(64).nullable(),
    errorMessage: p.text().nullable(),
    startedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  indexes: [
    { name: 'batch_predictions_user_created_at_index', properties: ['user', 'createdAt'] },
    { name: 'batch_predictions_status_index', properties: ['status'] },
  ],
});

export class BatchPrediction extends BatchPredictionSchema.class {}
BatchPredictionSchema.setClass(BatchPrediction);
