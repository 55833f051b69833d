import '../support/bench-env.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { Role } from '../../src/entities/enums.js';
import type { User } from '../../src/entities/user.entity.js';
import { buildContext } from '../../src/graphql/build-context.js';
import { storedVersion } from '../../test/predictions/prediction-fixtures.js';
import { deleteRedisKeys, startWorkerProcess, stopAll, type AppProcess } from '../../test/support/app-processes.js';
import { Factory } from '../../test/support/factories.js';
import { createTestDatabase } from '../../test/support/test-database.js';
import type { BenchScenario } from '../harness.js';
import { latency, percentile, round } from '../harness.js';

/**
 * Queued predictions per second through BullMQ on Redis and worker processes (src/worker.ts, one
 * inference thread each), with 1 and then 2 workers, against the same predictions through the
 * synchronous `predict` path (one inference thread, in this process) in the same run. Jobs are
 * created through the service (`AsyncPredictionService.create`: row, QUEUED event, enqueue), as
 * the API's resolver does, by `CLIENTS` concurrent producers; a run ends when every row is
 * SUCCEEDED (read from PostgreSQL). Model: mlp-small (16 → 32 → 4), one row per prediction, so
 * the figures are the job machinery's cost, not inference's.
 */
const CLIENTS = 16;
const INPUT = [{ name: 'input', dtype: 'float32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i / 16) }];

export const scenario: BenchScenario = {
  name: 'jobs-throughput',
  title: 'Queued predictions/s: BullMQ + 1 and 2 worker processes vs synchronous predict',
  async run({ log, quick }) {
    const redisUrl = process.env.REDIS_URL;
    if (!process.env.DATABASE_URL || !redisUrl) throw new Error('jobs-throughput needs DATABASE_URL and REDIS_URL');
    const jobs = quick ? 100 : 600;
    const db = await createTestDatabase();
    const storageDir = mkdtempSync(join(tmpdir(), 'mm-bench-models-'));
    const dataDir = mkdtempSync(join(tmpdir(), 'mm-bench-data-'));
    const queuePrefix = `bench-${randomUUID()}`;
    const pubSubPrefix = `bench-${randomUUID()}:`;
    const shared = {
      NODE_ENV: 'test',
      DATABASE_URL: db.databaseUrl!,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: queuePrefix,
      PUBSUB_PREFIX: pubSubPrefix,
      MODEL_STORAGE_DIR: storageDir,
      DATA_DIR: dataDir,
      JWT_SECRET: `b1:${randomBytes(32).toString('hex')}`,
      INFERENCE_WORKERS: '1',
      INFERENCE_INTRA_OP_THREADS: '1',
      RATE_LIMIT_ENABLED: 'false',
    };
    let app: App | undefined;
    try {
      app = await createApp(
        loadConfig({ ...shared, LOG_LEVEL: 'silent', MIGRATE_ON_START: 'true', SEED_ON_START: 'false' }),
      );
      const f = new Factory(app);
      const consumer = await f.user();
      const model = await f.model(await f.user({ role: Role.PUBLISHER }), { pricePerRequest: '0.0001' });
      await storedVersion(app, model, 'mlp-small', { version: '1.0.0' });
      const ctxOf = (u: User) =>
        buildContext(() => app!.db.orm.em.fork(), { caller: { kind: 'user', userId: u.id, role: u.role } });
      const args = { modelId: model.id, inputs: INPUT };

      // Baseline: the same predictions through synchronous predict, CLIENTS at a time.
      await app.services.predictions.predict(ctxOf(consumer), args); // warm the pool and session
      const sync = await closedLoop(jobs, async () => {
        await app!.services.predictions.predict(ctxOf(consumer), args);
      });
      log(`synchronous predict: ${round(sync.perSecond, 1)}/s`);

      const queued = async (workers: number) => {
        const procs: AppProcess[] = await Promise.all(
          Array.from({ length: workers }, () => startWorkerProcess(shared)),
        );
        try {
          // Warm each worker's pool and session (not timed).
          await runJobs(app!, consumer, ctxOf, args, workers * 4);
          const r = await runJobs(app!, consumer, ctxOf, args, jobs);
          log(`${workers} worker(s): ${round(r.perSecond, 1)} jobs/s`);
          return r;
        } finally {
          await Promise.all(procs.map((p) => p.stop()));
        }
      };
      const one = await queued(1);
      const two = await queued(2);
      const [billed] = await app.db.orm.em
        .fork()
        .execute<{ n: string }[]>('select count(*) as n from usage_records where user_id = ?', [consumer.id]);
      const expectedBilled = 1 + jobs + (jobs + 4) + (jobs + 8);
      return {
        metrics: {
          'jobs per run': jobs,
          'synchronous predict/s (baseline)': round(sync.perSecond, 1),
          'queued, 1 worker: jobs/s': round(one.perSecond, 1),
          'queued, 2 workers: jobs/s': round(two.perSecond, 1),
          'createPrediction (row + event + enqueue)/s while 1 worker ran': round(one.createdPerSecond, 1),
          'createPrediction (row + event + enqueue)/s while 2 workers ran': round(two.createdPerSecond, 1),
          ...latency('queued, 1 worker: created → SUCCEEDED', one.p50, one.p99, 'ms'),
          ...latency('queued, 2 workers: created → SUCCEEDED', two.p50, two.p99, 'ms'),
          'ratio 1 worker / synchronous': round(one.perSecond / sync.perSecond, 3),
          'ratio 2 workers / 1 worker': round(two.perSecond / one.perSecond, 3),
          'usage records': Number(billed?.n ?? 0),
          'usage records expected': expectedBilled,
        },
        targets: [
          {
            name: 'every prediction billed exactly once',
            value: Number(billed?.n),
            target: `= ${expectedBilled}`,
            pass: Number(billed?.n) === expectedBilled,
          },
        ],
        notes: [
          `${CLIENTS} concurrent producers; each worker: 1 inference thread, JOB_CONCURRENCY 8; mlp-small, one row.`,
          'Latency is the row’s createdAt → completedAt, so it includes time spent waiting in the queue behind the burst.',
          'On a 2-core machine shared with PostgreSQL, Redis and the producers, a second worker competes for the same cores.',
        ],
      };
    } finally {
      await stopAll();
      await app?.close();
      await db.drop();
      await deleteRedisKeys(redisUrl, [queuePrefix, pubSubPrefix]);
      for (const dir of [storageDir, dataDir]) rmSync(dir, { recursive: true, force: true });
    }
  },
};

/** `count` calls of `task`, CLIENTS at a time; the rate over the whole run. */
async function closedLoop(count: number, task: () => Promise<void>) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < count) {
        next++;
        await task();
      }
    }),
  );
  return { perSecond: count / ((performance.now() - started) / 1000) };
}

/** Queues `count` jobs (CLIENTS producers) and waits until all are SUCCEEDED; jobs/s from first create. */
async function runJobs(
  app: App,
  consumer: User,
  ctxOf: (u: User) => ReturnType<typeof buildContext>,
  args: { modelId: string; inputs: typeof INPUT },
  count: number,
) {
  const since = new Date(Date.now() - 1);
  const started = performance.now();
  const created = await closedLoop(count, async () => {
    await app.services.predictionJobs.create(ctxOf(consumer), args);
  });
  const em = app.db.orm.em.fork();
  const deadline = Date.now() + 300_000;
  for (;;) {
    const [row] = await em.execute<{ done: string; failed: string }[]>(
      `select count(*) filter (where status = 'SUCCEEDED') as done,
              count(*) filter (where status in ('FAILED', 'CANCELED')) as failed
         from predictions where user_id = ? and created_at >= ?`,
      [consumer.id, since],
    );
    if (Number(row?.failed)) throw new Error(`${row?.failed} jobs failed or were canceled`);
    if (Number(row?.done) === count) break;
    if (Date.now() > deadline) throw new Error(`only ${row?.done} of ${count} jobs finished in 300 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  const lat = await em.execute<{ ms: number }[]>(
    `select extract(epoch from (completed_at - created_at)) * 1000 as ms from predictions where user_id = ? and created_at >= ?`,
    [consumer.id, since],
  );
  const ms = lat.map((r) => Number(r.ms));
  return {
    perSecond: count / seconds,
    createdPerSecond: created.perSecond,
    p50: round(percentile(ms, 50), 1),
    p99: round(percentile(ms, 99), 1),
  };
}
