import { z } from 'zod';
import { secret } from '../shared/config-secret.js';

/**
 * Where model files, batch files and their results live: a local folder (MODEL_STORAGE_DIR,
 * shared between processes only if they share the folder) or an S3-compatible bucket, which
 * API replicas and workers on different machines share. With S3 each process keeps a bounded
 * local cache of the files it opens (onnxruntime reads a path), under MODEL_CACHE_DIR.
 */
export const STORAGE_ENV = {
  MODEL_STORAGE: z.enum(['local', 's3']).default('local'),
  /** An S3-compatible endpoint (MinIO, R2, B2, Ceph…); absent: AWS S3 in S3_REGION. */
  S3_ENDPOINT: z.url().optional(),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)')
    .optional(),
  S3_REGION: z.string().min(1).max(64).default('us-east-1'),
  /** Absent: the AWS SDK's default chain (environment, web identity, instance profile). */
  S3_ACCESS_KEY_ID: secret(z.string().min(1).optional()),
  S3_SECRET_ACCESS_KEY: secret(z.string().min(1).optional()),
  /** `true` for most S3-compatible servers (bucket in the path, not the host name). */
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).default('false'),
  /** Prepended to every key, so that several deployments can share a bucket. */
  S3_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9][A-Za-z0-9._-]*\/)*$/, 'empty, or folders ending in "/" (e.g. "mm/prod/")')
    .default(''),
  /** Size of a multipart upload's parts (MiB; S3's minimum is 5). */
  S3_PART_SIZE_MB: z.coerce.number().int().min(5).max(5120).default(16),
  /** This process's copies of stored files (MODEL_STORAGE=s3): default `${DATA_DIR}/model-cache`. */
  MODEL_CACHE_DIR: z.string().min(1).optional(),
  /** The cache's bound; files not opened for longest go first (one in use a minute ago never). */
  MODEL_CACHE_MAX_MB: z.coerce.number().int().min(1).max(10_000_000).default(20_480),
} as const;

type StorageEnv = z.output<z.ZodObject<typeof STORAGE_ENV>> & { DATA_DIR: string; MODEL_STORAGE_DIR?: string };

export type StorageSettings = {
  storage:
    | { kind: 'local'; dir: string }
    | {
        kind: 's3';
        endpoint?: string;
        bucket: string;
        region: string;
        credentials?: { accessKeyId: string; secretAccessKey: string };
        forcePathStyle: boolean;
        prefix: string;
        partBytes: number;
        cacheDir: string;
        cacheMaxBytes: number;
      };
};

export function storageConfigFrom(e: StorageEnv): { settings: StorageSettings; issues: string[] } {
  const issues: string[] = [];
  const dir = e.MODEL_STORAGE_DIR ?? `${e.DATA_DIR}/models`;
  if (e.MODEL_STORAGE === 'local') return { settings: { storage: { kind: 'local', dir } }, issues };
  if (!e.S3_BUCKET) issues.push('S3_BUCKET: required when MODEL_STORAGE=s3');
  if (Boolean(e.S3_ACCESS_KEY_ID) !== Boolean(e.S3_SECRET_ACCESS_KEY)) {
    issues.push('S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: set both or neither (neither: the AWS default chain)');
  }
  return {
    settings: {
      storage: {
        kind: 's3',
        endpoint: e.S3_ENDPOINT,
        bucket: e.S3_BUCKET ?? '',
        region: e.S3_REGION,
        credentials:
          e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY
            ? { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY }
            : undefined,
        forcePathStyle: e.S3_FORCE_PATH_STYLE === 'true',
        prefix: e.S3_PREFIX,
        partBytes: e.S3_PART_SIZE_MB * 1024 * 1024,
        cacheDir: e.MODEL_CACHE_DIR ?? `${e.DATA_DIR}/model-cache`,
        cacheMaxBytes: e.MODEL_CACHE_MAX_MB * 1024 * 1024,
      },
    },
    issues,
  };
}

/** The settings as they may be printed: the bucket's credentials masked. */
export function redactStorageSettings(s: StorageSettings['storage']): StorageSettings['storage'] {
  if (s.kind === 'local' || !s.credentials) return s;
  return { ...s, credentials: { accessKeyId: '***', secretAccessKey: '***' } };
}
