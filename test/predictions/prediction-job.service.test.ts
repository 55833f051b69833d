// The asynchronous prediction path without GraphQL: the row, the queue, a worker, the events,
// cancel, deadlines, idempotency, the sweeper and duplicate execution, against a real database,
// the real worker pool and real metering. The queue is the in-process one here; the BullMQ one
// passes the same contract (test/jobs/job-queue.contract.test.ts).
import { pino } from 'pino';
import { PredictionStatus, Role } from '../../src/entities/enums.js';
import { Model } from '../../src/entities/model.entity.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import { UsageRecord } from '../../src/entities/usage-record.entity.js';
import type { User } from '../../src/entities/user.entity.js';
import { MemoryJobQueue } from '../../src/jobs/memory-job-queue.js';
import { PredictionJobRunner } from '../../src/predictions/prediction-job-runner.js';
import { PredictionJobService } from '../../src/predictions/prediction-job.service.js';
import type { PredictionEvent, PredictionJob, PredictionJobDeps } from '../../src/predictions/prediction-job.types.js';
import { PredictionTransitions } from '../../src/predictions/prediction-transitions.js';
import { publishPredictionEvent } from '../../src/predictions/prediction-events.js';
import { VersionPaths } from '../../src/predictions/runnable-version.js';
import type { Caller } from '../../src/shared/caller.js';
import { AppError } from '../../src/shared/errors.js';
import { WebhookAllowList } from '../../src/webhooks/webhook-target.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { storedVersion } from './prediction-fixtures.js';

let server: TestServer;
let f: Factory;
let consumer: User;
let other: User;
let modelId: string;
const X = { name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] };

beforeAll(async () => {
  server = await startTestServer();
  f = new Factory(server.app);
  const publisher = await f.user({ role: Role.PUBLISHER });
  consumer = await f.user();
  other = await f.user();
  const model = await f.model(publisher, { pricePerRequest: '0.0100000000' });
  await storedVersion(server.app, model, 'elementwise', { version: '1.0.0' });
  modelId = model.id;
}, 60_000);
afterAll(async () => server?.close());

const callerOf = (u: User): Caller => ({ kind: 'user', userId: u.id, role: u.role });
const ctx = (u: User) => ({ em: server.app.db.orm.em.fork(), caller: callerOf(u) });

function makeService(
  queue = new MemoryJobQueue<PredictionJob>('predictions'),
  engine: Pick<typeof server.app.inference, 'run'> = server.app.inference,
) {
  const events: PredictionEvent[] = [];
  const deps: PredictionJobDeps = {
    engine,
    paths: new VersionPaths(server.app.storage),
    metering: server.app.services.billing.metering,
    queue,
    fork: () => server.app.db.orm.em.fork(),
    events: server.app.events,
    publish: async (e) => {
      events.push(e);
      await publishPredictionEvent(server.app.events, e);
    },
    webhookAllow: new WebhookAllowList([]),
    logger: pino({ level: 'silent' }),
    limits: { maxRequestBytes: 1 << 20, timeoutMs: 30_000, attempts: 3, backoffMs: 10 },
  };
  const transitions = new PredictionTransitions(deps);
  const service = new PredictionJobService(deps, transitions);
  const runner = new PredictionJobRunner(deps, transitions);
  return { service, runner, queue, events };
}

async function until(check: () => Promise<boolean> | boolean, what: string) {
  const end = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const row = (id: string) => server.app.db.orm.em.fork().findOneOrFail(Prediction, { id }, { populate: ['outputs'] });
const usageOf = (id: string) => server.app.db.orm.em.fork().count(UsageRecord, { prediction: id });

it('runs a queued job on a worker: QUEUED, RUNNING, SUCCEEDED in order, billed once', async () => {
  const { service, runner, queue, events } = makeService();
  const p = await service.create(ctx(consumer), { modelId, inputs: [X] });
  expect(p.status).toBe(PredictionStatus.QUEUED);
  expect(await service.queuePosition(server.app.db.orm.em.fork(), p)).toBeGreaterThanOrEqual(1);
  runner.start(2);
  await until(async () => (await row(p.id)).status === 'SUCCEEDED', 'SUCCEEDED');
  const done = await row(p.id);
  expect(done.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: [1, 4], data: [0, 1, 3, 5], b64: null }]);
  expect(done.startedAt).toBeInstanceOf(Date);
  expect(done.completedAt).toBeInstanceOf(Date);
  expect(done.cost).toBe('0.0100000000');
  expect(await usageOf(p.id)).toBe(1);
  expect(events.filter((e) => e.predictionId === p.id).map((e) => e.status)).toEqual([
    'QUEUED',
    'RUNNING',
    'SUCCEEDED',
  ]);

  // The queue delivering the job again (a stalled worker's job run twice) changes nothing.
  await runner.execute({ id: p.id, data: { predictionId: p.id }, attempt: 2, maxAttempts: 3 });
  expect(await usageOf(p.id)).toBe(1);
  await queue.close();
});

it('drops the result of a job canceled while it runs: CANCELED, no outputs, nothing billed', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const engine = {
    run: async (...args: Parameters<typeof server.app.inference.run>) => {
      started();
      await gate;
      return server.app.inference.run(...args);
    },
  };
  const { service, runner, queue, events } = makeService(undefined, engine);
  const p = await service.create(ctx(consumer), { modelId, inputs: [X] });
  runner.start(1);
  await running;
  expect((await row(p.id)).status).toBe(PredictionStatus.RUNNING);
  await service.cancel(ctx(consumer), p.id);
  release();
  await until(() => events.filter((e) => e.predictionId === p.id).length >= 3, 'the CANCELED event');
  await queue.close();
  const done = await row(p.id);
  expect([done.status, done.outputs, done.cost]).toEqual([PredictionStatus.CANCELED, null, null]);
  expect(await usageOf(p.id)).toBe(0);
  expect(events.filter((e) => e.predictionId === p.id).map((e) => e.status)).toEqual(['QUEUED', 'RUNNING', 'CANCELED']);
});

it('bills a burst of concurrent jobs exactly: one record each, the free allowance first (group commit)', async () => {
  const publisher = await f.user({ role: Role.PUBLISHER });
  const model = await f.model(publisher, { pricePerRequest: '0.0200000000' });
  await server.app.db.orm.em.fork().nativeUpdate(Model, { id: model.id }, { freeRequestsPerMonth: 5 });
  await storedVersion(server.app, model, 'elementwise', { version: '1.0.0' });
  const { service, runner, queue } = makeService();
  const jobs = await Promise.all(
    Array.from({ length: 24 }, () => service.create(ctx(consumer), { modelId: model.id, inputs: [X] })),
  );
  runner.start(8);
  const em = server.app.db.orm.em.fork();
  await until(
    async () => (await em.count(Prediction, { model: model.id, status: PredictionStatus.SUCCEEDED })) === 24,
    'all 24 SUCCEEDED',
  );
  await queue.close();
  const [totals] = await em.execute<{ records: string; free: string; amount: string; cost: string; count: string }[]>(
    `select count(*) as records, count(*) filter (where free) as free, sum(amount)::text as amount,
       (select sum(cost)::text from predictions where model_id = ?) as cost,
       (select prediction_count::text from models where id = ?) as count
     from usage_records where model_id = ?`,
    [model.id, model.id, model.id],
  );
  expect(totals).toEqual({ records: '24', free: '5', amount: '0.3800000000', cost: '0.3800000000', count: '24' });
  for (const j of jobs) expect(await usageOf(j.id)).toBe(1);
});

it('returns the same job for a retried idempotency key, also when the retries race', async () => {
  const { service, queue } = makeService();
  const first = await service.create(ctx(consumer), { modelId, inputs: [X], idempotencyKey: 'retry-me' });
  const again = await service.create(ctx(consumer), { modelId, inputs: [X], idempotencyKey: 'retry-me' });
  expect(again.id).toBe(first.id);
  const raced = await Promise.all(
    Array.from({ length: 5 }, () => service.create(ctx(consumer), { modelId, inputs: [X], idempotencyKey: 'race' })),
  );
  expect(new Set(raced.map((r) => r.id)).size).toBe(1);
  // Keys are per user: another user's identical key is another job.
  const theirs = await service.create(ctx(other), { modelId, inputs: [X], idempotencyKey: 'race' });
  expect(theirs.id).not.toBe(raced[0].id);
  await queue.close();
});

it('cancels a queued job: it leaves the queue, never runs and is never billed', async () => {
  const { service, runner, queue, events } = makeService();
  const p = await service.create(ctx(consumer), { modelId, inputs: [X] });
  expect(await queue.has(p.id)).toBe(true);
  const canceled = await service.cancel(ctx(consumer), p.id);
  expect(canceled.status).toBe(PredictionStatus.CANCELED);
  expect(await queue.has(p.id)).toBe(false);
  await runner.execute({ id: p.id, data: { predictionId: p.id }, attempt: 1, maxAttempts: 3 });
  expect((await row(p.id)).status).toBe(PredictionStatus.CANCELED);
  expect(await usageOf(p.id)).toBe(0);
  expect(events.filter((e) => e.predictionId === p.id).map((e) => e.status)).toEqual(['QUEUED', 'CANCELED']);
  await queue.close();
});

it('cancels a job whose deadline passes before it starts (sweeper), with the reason', async () => {
  const { service, runner, queue } = makeService();
  const p = await service.create(ctx(consumer), { modelId, inputs: [X], deadline: new Date(Date.now() + 150) });
  await new Promise((r) => setTimeout(r, 250));
  const swept = await runner.sweep(0);
  expect(swept.expired).toBeGreaterThanOrEqual(1);
  const done = await row(p.id);
  expect(done.status).toBe(PredictionStatus.CANCELED);
  expect(done.errorCode).toBe('DEADLINE_EXCEEDED');
  await queue.close();
});

it('re-enqueues a QUEUED job the queue has lost, and it then runs', async () => {
  const lost = makeService();
  const p = await lost.service.create(ctx(consumer), { modelId, inputs: [X] });
  await lost.queue.close(); // the process that held it is gone
  const { runner, queue } = makeService(); // a fresh process with an empty queue
  expect(await queue.has(p.id)).toBe(false);
  const swept = await runner.sweep(0);
  expect(swept.requeued).toBeGreaterThanOrEqual(1);
  runner.start(1);
  await until(async () => (await row(p.id)).status === 'SUCCEEDED', 'swept job to succeed');
  expect(await usageOf(p.id)).toBe(1);
  await queue.close();
});

it('refuses bad requests before anything is stored, and hides other users’ jobs', async () => {
  const { service, queue } = makeService();
  const before = await server.app.db.orm.em.fork().count(Prediction, { user: consumer.id });
  const bad = await service
    .create(ctx(consumer), { modelId, inputs: [{ ...X, shape: [1, 5] }] })
    .catch((e: unknown) => e as AppError);
  expect(bad).toBeInstanceOf(AppError);
  expect((bad as AppError).code).toBe('BAD_USER_INPUT');
  const ssrf = await service
    .create(ctx(consumer), { modelId, inputs: [X], webhookUrl: 'http://169.254.169.254/latest' })
    .catch((e: unknown) => e as AppError);
  expect((ssrf as AppError).code).toBe('BAD_USER_INPUT');
  expect(await server.app.db.orm.em.fork().count(Prediction, { user: consumer.id })).toBe(before);

  const mine = await service.create(ctx(consumer), { modelId, inputs: [X] });
  await expect(service.get(ctx(other), mine.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  await expect(service.cancel(ctx(other), mine.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  await queue.close();
});

it('waits for the job when asked: the finished job within `wait`, else the job as it is then', async () => {
  const { service, runner, queue } = makeService();
  // No worker yet: the wait runs out and the job comes back QUEUED, about `wait` later.
  const t = performance.now();
  const queued = await service.create(ctx(consumer), { modelId, inputs: [X], wait: 0.3 });
  expect(queued.status).toBe(PredictionStatus.QUEUED);
  expect(performance.now() - t).toBeGreaterThanOrEqual(290);
  runner.start(1);
  const done = await service.create(ctx(consumer), { modelId, inputs: [X], wait: 20 });
  expect(done.status).toBe(PredictionStatus.SUCCEEDED);
  expect(done.cost).toBe('0.0100000000');
  await expect(service.create(ctx(consumer), { modelId, inputs: [X], wait: 61 })).rejects.toMatchObject({
    code: 'BAD_USER_INPUT',
  });
  await expect(service.create(ctx(consumer), { modelId, inputs: [X], wait: -1 })).rejects.toMatchObject({
    code: 'BAD_USER_INPUT',
  });
  await until(async () => (await row(queued.id)).status === 'SUCCEEDED', 'the first job to run');
  await queue.close();
});
