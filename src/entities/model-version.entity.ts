import { defineEntity, p } from '@mikro-orm/core';
import { createdAt, updatedAt, uuidPrimaryKey } from './columns.js';
import { ModelVersionStatus } from './enums.js';
import { Model } from './model.entity.js';

/** One input or output of a model, as read from the ONNX file by onnxruntime. */
export type TensorSpecJson = { name: string; dtype: string; shape: string[] };

/** What the publisher says about the version's tensors (checked against the signature). */
export type VersionMetadataJson = {
  inputs: Record<
    string,
    {
      description?: string;
      preprocessing?: string;
      example?: { dtype: string; shape: number[]; data?: unknown[]; b64?: string };
    }
  >;
  outputs: Record<string, { description?: string; labels?: string[] }>;
};

/** Per-version dynamic batching settings (the inference engine's defaults apply when null). */
export type BatchingJson = { enabled: boolean; maxBatchSize: number; maxQueueDelayMs: number };

const ModelVersionSchema = defineEntity({
  name: 'ModelVersion',
  tableName: 'model_versions',
  properties: {
    id: uuidPrimaryKey(),
    model: () => p.manyToOne(Model).index(),
    /** Semantic version as uploaded, e.g. `1.2.0-rc.1`. */
    version: p.string().length(64),
    /** Numeric parts of `version`, so that ordering and "must increase" checks run in SQL. */
    major: p.integer(),
    minor: p.integer(),
    patch: p.integer(),
    prerelease: p.string().length(64).nullable(),
    status: p.enum(() => ModelVersionStatus).default(ModelVersionStatus.PROCESSING),
    /** Why validation failed, in words a publisher can act on. */
    statusReason: p.text().nullable(),
    /** Why validation failed, as a stable code (InvalidModelCode, e.g. MODEL_TOO_EXPENSIVE). */
    statusCode: p.string().length(32).nullable(),
    sizeBytes: p.bigint('number'),
    sha256: p.string().length(64),
    /** Where the file lives in model storage (a key, not a path: storage decides). */
    storageKey: p.string().length(500),
    inputs: p.json<TensorSpecJson[]>().default('[]'),
    outputs: p.json<TensorSpecJson[]>().default('[]'),
    changelog: p.text().nullable(),
    /** The publisher's description of inputs and outputs (updateVersionMetadata); null: none. */
    metadata: p.json<VersionMetadataJson>().nullable(),
    batching: p.json<BatchingJson>().nullable(),
    readyAt: p.datetime().nullable(),
    deprecatedAt: p.datetime().nullable(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  uniques: [
    { name: 'model_versions_model_version_unique', properties: ['model', 'version'] },
    { name: 'model_versions_model_sha256_unique', properties: ['model', 'sha256'] },
  ],
});

export class ModelVersion extends ModelVersionSchema.class {}
ModelVersionSchema.setClass(ModelVersion);
