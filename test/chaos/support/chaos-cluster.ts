import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { Role } from '../../../src/entities/enums.js';
import { TEST_MODELS, TEST_MODELS_DIR } from '../../../src/inference/test-models.js';
import { UploadModelVersionDocument } from '../../generated/graphql.js';
import { storedVersion } from '../../predictions/prediction-fixtures.js';
import { postMultipart } from '../../publishing/multipart.js';
import { tokenFor } from '../../support/auth.js';
import { Factory } from '../../support/factories.js';
import { codeOf } from './load-driver.js';
import { startPostgres, type PostgresInstance } from './postgres-instance.js';
import { startRedis, type RedisInstance } from './redis-instance.js';

/**
 * What both fault suites stand on: a private PostgreSQL and Redis (chaos/support/*-instance.ts),
 * a migrated database with a consumer, a priced model with a READY version and a publisher with a
 * model to upload to, one JWT secret for every process, and the environment for API and worker
 * processes (test/support/app-processes.ts). `dispose()` removes all of it.
 */
export type ChaosCluster = {
  pg: PostgresInstance;
  redis: RedisInstance;
  databaseUrl: string;
  consumerAuth: string;
  publisherAuth: string;
  modelId: string;
  uploadModelId: string;
  /** Environment for src/main.ts and src/worker.ts; `extra` wins. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** A multipart uploadModelVersion of a fresh (never uploaded) ONNX file, on `origin`. */
  upload(origin: string, version: string): Promise<{ outcome: string; versionId?: string; status?: string }>;
  dispose(): Promise<void>;
};

/** The test model with a `doc_string` appended (ModelProto field 6): new bytes, same graph. */
function uniqueOnnx(text: string): Uint8Array {
  const bytes = readFileSync(join(TEST_MODELS_DIR, TEST_MODELS.elementwise.fileName));
  const payload = Buffer.from(text, 'utf8');
  return Buffer.concat([bytes, Buffer.from([(6 << 3) | 2, payload.length]), payload]);
}

export async function startChaosCluster(options: { persistentRedis?: boolean } = {}): Promise<ChaosCluster> {
  const dirs: string[] = [];
  let pg: PostgresInstance | undefined;
  let redis: RedisInstance | undefined;
  const cleanup = async () => {
    await redis?.dispose();
    await pg?.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  try {
    [pg, redis] = await Promise.all([startPostgres(), startRedis({ persistent: options.persistentRedis })]);
    const storageDir = mkdtempSync(join(tmpdir(), 'chaos-models-'));
    const dataDir = mkdtempSync(join(tmpdir(), 'chaos-data-'));
    dirs.push(storageDir, dataDir);
    const jwtSecret = `t1:${randomBytes(32).toString('hex')}`;
    const queuePrefix = `test-${randomUUID()}`;
    const pubSubPrefix = `test-${randomUUID()}:`;
    const databaseUrl = pg.url;
    // This process migrates the database and writes the fixtures, then leaves: only the spawned
    // processes face the faults.
    const app = await createApp(
      loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        DATABASE_URL: databaseUrl,
        DATA_DIR: dataDir,
        MODEL_STORAGE_DIR: storageDir,
        JWT_SECRET: jwtSecret,
        MIGRATE_ON_START: 'true',
        SEED_ON_START: 'false',
        INFERENCE_START: 'lazy',
        INFERENCE_WORKERS: '1',
      }),
    );
    let consumerAuth: string;
    let publisherAuth: string;
    let modelId: string;
    let uploadModelId: string;
    try {
      const f = new Factory(app);
      const publisher = await f.user({ role: Role.PUBLISHER });
      const consumer = await f.user();
      const model = await f.model(publisher, { pricePerRequest: '0.0020000000' });
      await storedVersion(app, model, 'elementwise', { version: '1.0.0' });
      const target = await f.model(publisher, { pricePerRequest: '0.0010000000' });
      modelId = model.id;
      uploadModelId = target.id;
      consumerAuth = `Bearer ${await tokenFor(app, consumer)}`;
      publisherAuth = `Bearer ${await tokenFor(app, publisher)}`;
    } finally {
      await app.close();
    }
    const instances = { pg, redis };
    return {
      ...instances,
      databaseUrl,
      consumerAuth,
      publisherAuth,
      modelId,
      uploadModelId,
      env: (extra = {}) => ({
        DATABASE_URL: databaseUrl,
        REDIS_URL: instances.redis.url,
        QUEUE_PREFIX: queuePrefix,
        PUBSUB_PREFIX: pubSubPrefix,
        MODEL_STORAGE_DIR: storageDir,
        DATA_DIR: dataDir,
        JWT_SECRET: jwtSecret,
        MIGRATE_ON_START: 'false',
        INFERENCE_WORKERS: '1',
        INFERENCE_INTRA_OP_THREADS: '1',
        INFERENCE_START: 'lazy',
        // Production-like: the limiter runs (on Redis), with room for the test's load.
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_QUERY: '100000/60',
        RATE_LIMIT_MUTATION: '100000/60',
        RATE_LIMIT_PREDICT: '100000/60',
        RATE_LIMIT_UPLOAD: '1000/60',
        // Fast recovery, so that a run takes seconds: a killed worker's lock lapses in 2 s, and
        // the sweeper re-enqueues rows the queue lost once they are 3 s old.
        JOB_LOCK_MS: '2000',
        JOB_SWEEP_INTERVAL_MS: '1000',
        JOB_SWEEP_STALE_MS: '3000',
        JOB_BACKOFF_MS: '500',
        // A predictionUpdated stream whose event was lost in an outage re-reads its row after 2 s.
        PREDICTION_STREAM_RECHECK_MS: '2000',
        SHUTDOWN_GRACE_MS: '10000',
        ...extra,
      }),
      async upload(origin, version) {
        try {
          const res = await postMultipart(
            origin,
            UploadModelVersionDocument,
            { modelId: uploadModelId, version, changelog: `chaos ${version}` },
            { bytes: uniqueOnnx(`${version}-${randomUUID()}`), filename: 'chaos.onnx' },
            { authorization: publisherAuth },
          );
          if (res.errors?.length) return { outcome: codeOf(res.errors[0]) };
          const v = res.data!.uploadModelVersion;
          return { outcome: 'OK', versionId: v.id, status: v.status };
        } catch (err) {
          const e = err as Error & { cause?: { code?: string } };
          return { outcome: e.cause?.code === 'ECONNREFUSED' ? 'REFUSED' : `FETCH_${e.cause?.code ?? e.name}` };
        }
      },
      dispose: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
