// What a multi-process test shares with the processes it starts: a fresh database migrated and
// seeded by this process (a publisher's priced model with a stored version, a consumer and their
// token), a model storage and data folder, queue and pub/sub prefixes of its own in the shared
// Redis, and one JWT key, so that a token made here is accepted by every process.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { Role } from '../../src/entities/enums.js';
import type { User } from '../../src/entities/user.entity.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { deleteRedisKeys, stopAll } from './app-processes.js';
import { tokenFor } from './auth.js';
import { Factory } from './factories.js';
import { createTestDatabase } from './test-database.js';

export type ProcessWorld = {
  /** This process's own app over the shared database (it runs no jobs). */
  app: App;
  consumer: User;
  /** `Bearer …` for the consumer. */
  authorization: string;
  /** `Bearer …` for the model's publisher. */
  publisherAuthorization: string;
  /** The elementwise fixture at 0.002 a request, version 1.0.0. */
  modelId: string;
  queuePrefix: string;
  pubSubPrefix: string;
  /** The environment every process needs to share this world (add RUN_JOBS etc. per role). */
  env(extra?: Record<string, string>): Record<string, string>;
  sql<T>(query: string, params?: unknown[]): Promise<T[]>;
  /** Stops every process started, then drops what the world made. */
  close(): Promise<void>;
};

/** `env`: settings every process of this world shares, this one included (e.g. S3 storage). */
export async function createProcessWorld(name: string, env: Record<string, string> = {}): Promise<ProcessWorld> {
  const redisUrl = process.env.REDIS_URL!;
  const queuePrefix = `test-${randomUUID()}`;
  const pubSubPrefix = `test-${randomUUID()}:`;
  const jwtSecret = `t1:${randomBytes(32).toString('hex')}`;
  const db = await createTestDatabase();
  const storageDir = mkdtempSync(join(tmpdir(), `mm-${name}-models-`));
  const dataDir = mkdtempSync(join(tmpdir(), `mm-${name}-data-`));
  const app = await createApp(
    loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATABASE_URL: db.databaseUrl!,
      DATA_DIR: dataDir,
      MODEL_STORAGE_DIR: storageDir,
      JWT_SECRET: jwtSecret,
      MIGRATE_ON_START: 'true',
      SEED_ON_START: 'false',
      INFERENCE_START: 'lazy',
      INFERENCE_WORKERS: '1',
      ...env,
    }),
  );
  const f = new Factory(app);
  const publisher = await f.user({ role: Role.PUBLISHER });
  const consumer = await f.user();
  const model = await f.model(publisher, { pricePerRequest: '0.0020000000' });
  await storedVersion(app, model, 'elementwise', { version: '1.0.0' });
  return {
    app,
    consumer,
    authorization: `Bearer ${await tokenFor(app, consumer)}`,
    publisherAuthorization: `Bearer ${await tokenFor(app, publisher)}`,
    modelId: model.id,
    queuePrefix,
    pubSubPrefix,
    env: (extra = {}) => ({
      DATABASE_URL: db.databaseUrl!,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: queuePrefix,
      PUBSUB_PREFIX: pubSubPrefix,
      MODEL_STORAGE_DIR: storageDir,
      DATA_DIR: dataDir,
      JWT_SECRET: jwtSecret,
      MIGRATE_ON_START: 'false',
      INFERENCE_WORKERS: '1',
      INFERENCE_INTRA_OP_THREADS: '1',
      ...env,
      ...extra,
    }),
    sql: (query, params = []) => app.db.orm.em.fork().execute(query, params),
    async close() {
      await stopAll();
      await app.close();
      await db.drop();
      await deleteRedisKeys(redisUrl, [queuePrefix, pubSubPrefix]);
      for (const dir of [storageDir, dataDir]) rmSync(dir, { recursive: true, force: true });
    },
  };
}
