import type { GraphQLSchema } from 'graphql';
import type { Config } from './config.js';
import { openDatabase, pendingMigrations, migrate, type Database } from './db/database.js';
import { createSchema } from './graphql/schema.js';
import { createServices, type Services } from './services.js';
import { createLogger, resolveLogFormat, type Logger } from './shared/logger.js';
import { LocalModelStorage, type ModelStorage } from './storage/model-storage.js';
import { SandboxModelValidator } from './catalog/model-validator.js';
import { createEventBus } from './subscriptions/event-bus.js';
import { InferencePool } from './inference/inference-pool.js';
import { observeInferencePool } from './observability/metrics.js';
import { MeteringService } from './billing/metering.service.js';
import type { Redis } from 'ioredis';
import { createRateLimitPolicy } from './auth/rate-limit/create-rate-limit-policy.js';
import type { RateLimitPolicy } from './auth/rate-limit/rate-limit.policy.js';
import { closeRedis, createRedis } from './shared/redis.js';
import { createJobs } from './predictions/jobs.wiring.js';
import { UsageNotifier } from './billing/usage-notifier.js';
import { ModelVersion } from './entities/model-version.entity.js';

export type ReadinessReport = { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> };

export type App = {
  config: Config;
  logger: Logger;
  db: Database;
  services: Services;
  storage: ModelStorage;
  schema: GraphQLSchema;
  /** The inference worker pool (src/inference/). */
  inference: InferencePool;
  /** The app's shared Redis client (src/shared/redis.ts) when REDIS_URL is set; closed by close(). */
  redis?: Redis;
  /** Token buckets per caller and operation class (Redis or in-process, from config). */
  rateLimits: RateLimitPolicy;
  /**
   * Makes this process a job worker too (queued predictions, webhooks, the sweeper) when
   * RUN_JOBS allows it; `force` is for `npm run worker`. main.ts and worker.ts call it.
   */
  startJobs(options?: { force?: boolean }): void;
  readiness(): Promise<ReadinessReport>;
  /** Stops everything in order; `step` is told each stage (shutdown's deadline report names it). */
  close(step?: (name: string) => void): Promise<void>;
};

/**
 * Builds everything a process needs, in one place: the database (embedded or PostgreSQL), the
 * services and the GraphQL schema. Migrations run at start on the embedded default (there is no
 * one else to run them) and when MIGRATE_ON_START asks; otherwise `npm run migrate` does it and
 * the readiness probe stays false until it has.
 */
export async function createApp(config: Config, options: { logger?: Logger } = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel, {}, resolveLogFormat(config.logFormat, config.env));
  // MikroORM's own messages (one per migration step) at debug: 'migrations applied' sums them up.
  const db = await openDatabase(config, (message) => logger.debug({ component: 'orm' }, message));
  let inference: InferencePool | undefined;
  let jobs: ReturnType<typeof createJobs> | undefined;
  try {
    if (config.migrateOnStart === 'true' || (config.migrateOnStart === 'auto' && db.embedded)) {
      const applied = await migrate(db.orm);
      if (applied.length) logger.info({ applied }, 'migrations applied');
    }
    const storage = new LocalModelStorage(config.modelStorageDir);
    const events = createEventBus({ redisUrl: config.redisUrl, prefix: config.pubSubPrefix });
    const validator = new SandboxModelValidator({
      budget: config.inference.admission,
      concurrency: config.inference.admission.concurrency,
      maxHeapMb: config.inference.workerMaxHeapMb,
      limitsMode: config.inference.sandboxLimits,
      warmupMaxBytes: config.inference.maxRequestBytes,
      logger: logger.child({ component: 'admission' }),
    });
    const poolOptions = { ...config.inference, logger: logger.child({ component: 'inference' }) };
    inference =
      config.inference.start === 'lazy' ? InferencePool.lazy(poolOptions) : await InferencePool.start(poolOptions);
    const stopObservingPool = observeInferencePool(inference);
    const metering = new MeteringService({
      blockOverdue: config.billing.blockOverdue,
      maxPricePerRequest: config.billing.maxPricePerRequest,
    });
    const usageNotifier = new UsageNotifier(events, 250, (err) => logger.warn({ err }, 'usageUpdated publish failed'));
    // Queues, webhook delivery and the async service's dependencies (src/predictions/jobs.wiring.ts).
    jobs = createJobs(config, { orm: db.orm, engine: inference, storage, metering, events, logger });
    let warmReady: (versionId: string) => void = () => undefined;
    const services = createServices(
      config,
      {
        orm: db.orm,
        storage,
        validator,
        events,
        logger,
        uploadMaxBytes: config.uploadMaxBytes,
        validationsPerUser: config.inference.admission.perUser,
        // Load and warm a version in the pool as soon as it is READY, so that its first
        // prediction does not pay for the load (late-bound: the services are built below).
        onReady: (versionId) => warmReady(versionId),
      },
      {
        engine: inference,
        storage,
        metering,
        logger,
        limits: { maxRequestBytes: config.inference.maxRequestBytes, timeoutMs: config.inference.timeoutMs },
        onMetered: (userId) => usageNotifier.notify(userId),
        versionCacheTtlMs: config.predictVersionCacheTtlMs,
      },
      { ...jobs.deps, onMetered: (userId) => usageNotifier.notify(userId) },
    );
    warmReady = (versionId) => {
      void (async () => {
        const version = await db.orm.em.fork().findOne(ModelVersion, { id: versionId });
        if (!version) return;
        const { warmupError } = await services.predictions.warmVersion(version);
        if (warmupError) logger.warn({ versionId, warmupError }, 'warm-up run failed on a synthetic input');
      })().catch((err: unknown) => logger.warn({ err, versionId }, 'could not warm a READY version'));
    };
    const schema = await createSchema(services, config.maxPageSize);
    // Uploads whose validation a previous process did not finish; in the background, never
    // blocking start (a database without migrations yet only logs a warning).
    services.versions
      .resumeProcessing()
      .then((n) => n && logger.info({ versions: n }, 'resumed validation of PROCESSING model versions'))
      .catch((err: unknown) => logger.warn({ err }, 'could not resume PROCESSING model versions'));
    // On the request path (rate limits): while Redis is down a command fails within a second
    // (the limiter then lets the request through) instead of waiting out ioredis' reconnects.
    const redis = config.redisUrl
      ? createRedis(config.redisUrl, { connectionName: 'mm-app', commandTimeout: 1000 })
      : undefined;
    const rateLimits = createRateLimitPolicy(config.rateLimit, redis, logger);
    // Other replicas' catalog writes reach this process's caches through Redis (polled, not per request).
    if (redis) {
      services.catalogGeneration.connect(redis, (err) =>
        logger.warn({ err }, 'catalog generation unreadable in Redis: catalog caches bypassed until it is back'),
      );
    }
    return {
      config,
      logger,
      db,
      services,
      storage,
      schema,
      inference,
      redis,
      rateLimits,
      startJobs: (options) => jobs?.start(services.jobs, options),
      readiness: () => readiness(db, inference, redis),
      close: async (step = () => undefined) => {
        // Validations in flight are stopped, not waited for: their versions stay PROCESSING and
        // the next start takes them up again (a hostile one could hold shutdown for its budget).
        step('model validations');
        await validator.close();
        await services.versions.drain();
        // Stop taking jobs and let running ones finish before the pool and database go away
        // (a run that never ends is cut when the grace period ends: main.ts, worker.ts).
        step('jobs');
        await jobs?.close();
        step('usage notifications');
        await usageNotifier.flush();
        services.catalogGeneration.close();
        // After the HTTP server has drained: anything still queued fails as retryable.
        step('inference pool');
        stopObservingPool();
        await inference?.close();
        step('event bus');
        await events.close();
        step('rate limits');
        await rateLimits.close();
        step('redis');
        if (redis) await closeRedis(redis);
        step('database');
        await db.close();
      },
    };
  } catch (err) {
    await jobs?.close().catch(() => undefined);
    await inference?.close();
    await db.close();
    throw err;
  }
}

async function readiness(db: Database, inference?: InferencePool, redis?: Redis): Promise<ReadinessReport> {
  const checks: ReadinessReport['checks'] = {};
  if (redis) {
    // Queues, pub/sub and rate limits run on it: while it is down, jobs are not taken and
    // subscribers get no events, so the replica says so (and says it again once reconnected).
    try {
      if (redis.status !== 'ready') throw new Error(`connection ${redis.status}`);
      await Promise.race([
        redis.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('no PONG in 1 s')), 1000).unref()),
      ]);
      checks.redis = { ok: true };
    } catch (err) {
      checks.redis = { ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  }
  if (inference) {
    // A lazy pool that has not started yet is fine; a started one needs every worker up.
    const h = inference.health();
    checks.inference =
      !h.started || h.ready === h.size ? { ok: true } : { ok: false, detail: `${h.ready}/${h.size} workers ready` };
  }
  try {
    await db.orm.em.fork().execute('select 1');
    checks.database = { ok: true };
    const pending = await pendingMigrations(db.orm);
    checks.migrations = pending.length ? { ok: false, detail: `pending: ${pending.join(', ')}` } : { ok: true };
  } catch (err) {
    checks.database = { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}
