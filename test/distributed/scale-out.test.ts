// The async path across real processes, as it is deployed: two API replicas that run no jobs
// (RUN_JOBS=false) and worker processes (src/worker.ts), sharing one PostgreSQL database, one
// Redis (BullMQ queue and pub/sub) and one model storage folder. A job created on API #2 is run
// by a worker and its status changes reach a graphql-ws subscriber on API #1; then a worker is
// SIGKILLed while it runs a job, and another worker finishes it (BullMQ stalled-job recovery)
// without billing it twice.
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import type { User } from '../../src/entities/user.entity.js';
import { CreatePredictionDocument, MyPredictionEventsDocument, PredictionJobDocument } from '../generated/graphql.js';
import { startApiProcess, startWorkerProcess, type AppProcess } from '../support/app-processes.js';
import { createProcessWorld, type ProcessWorld } from '../support/process-world.js';

const redisUrl = process.env.REDIS_URL;
const databaseUrl = process.env.DATABASE_URL;
if (!redisUrl || !databaseUrl) {
  process.stdout.write('[scale-out] needs DATABASE_URL and REDIS_URL: multi-process tests skipped\n');
}
const withServices = redisUrl && databaseUrl ? describe : describe.skip;

const X = { name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] };
type Gql<T> = { data?: T | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };

withServices('two API replicas and workers on PostgreSQL + Redis', () => {
  let world: ProcessWorld;
  let redis: Redis;
  let api1: AppProcess;
  let api2: AppProcess;
  let worker: AppProcess;
  let consumer: User;
  let modelId: string;
  let authorization: string;
  let pubSubPrefix: string;
  let queuePrefix: string;
  const clients: Client[] = [];

  // Short locks, so a killed worker's job comes back within seconds (see the crash test).
  const shared = () => world.env({ JOB_LOCK_MS: '2000' });

  beforeAll(async () => {
    world = await createProcessWorld('dist');
    ({ consumer, modelId, authorization, pubSubPrefix, queuePrefix } = world);
    redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 3 });
    const apiEnv = { ...shared(), RUN_JOBS: 'false', INFERENCE_START: 'lazy' };
    [api1, api2, worker] = await Promise.all([
      startApiProcess(apiEnv),
      startApiProcess(apiEnv),
      startWorkerProcess(shared()),
    ]);
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) await Promise.resolve(c.dispose());
    await world?.close();
    redis?.disconnect();
  }, 60_000);

  async function gql<T>(origin: string, document: Parameters<typeof print>[0], variables: Record<string, unknown>) {
    const res = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ query: print(document), variables }),
    });
    return (await res.json()) as Gql<T>;
  }

  const createJob = async (origin: string) => {
    const res = await gql<{ createPrediction: { id: string; status: string } }>(origin, CreatePredictionDocument, {
      input: { modelId, inputs: [X] },
    });
    expect(res.errors).toBeUndefined();
    return res.data!.createPrediction;
  };

  const sql = <T>(query: string, params: unknown[] = []) => world.sql<T>(query, params);
  const usageRecords = async (predictionId: string) =>
    Number(
      (await sql<{ n: string }>('select count(*) as n from usage_records where prediction_id = ?', [predictionId]))[0]
        ?.n,
    );

  async function until(check: () => boolean | Promise<boolean>, what: string, ms = 60_000) {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** `myPredictionEvents` on an API process; resolves once Redis has the subscriber. */
  async function subscribeEvents(origin: string) {
    const client = createClient({
      url: `${origin.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization },
      retryAttempts: 0,
    });
    clients.push(client);
    const channel = `${pubSubPrefix}USER_PREDICTION_EVENTS:${consumer.id}`;
    const numsub = async () => Number(((await redis.pubsub('NUMSUB', channel)) as [string, number])[1]);
    const before = await numsub();
    const statuses = new Map<string, string[]>();
    const events = client.iterate({ query: print(MyPredictionEventsDocument) });
    const reading = (async () => {
      for await (const e of events) {
        const p = (e.data as { myPredictionEvents: { id: string; status: string } }).myPredictionEvents;
        statuses.set(p.id, [...(statuses.get(p.id) ?? []), p.status]);
      }
    })();
    // The replica's Redis subscriber is what every other process's events arrive through.
    await until(async () => (await numsub()) > before, 'the subscription to reach Redis');
    return {
      statuses,
      async close() {
        await events.return?.();
        await reading;
      },
    };
  }

  it('runs a job created on API #2 in the worker and streams QUEUED, RUNNING, SUCCEEDED to API #1', async () => {
    const sub = await subscribeEvents(api1.origin);
    const job = await createJob(api2.origin);
    expect(job.status).toBe('QUEUED');
    await until(() => sub.statuses.get(job.id)?.includes('SUCCEEDED') ?? false, 'SUCCEEDED on API #1');
    expect(sub.statuses.get(job.id)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    await sub.close();

    // Either replica reads the same row: outputs, cost, and exactly one usage record.
    const read = await gql<{ prediction: { status: string; outputs: { data: number[] }[]; cost: { amount: string } } }>(
      api1.origin,
      PredictionJobDocument,
      { id: job.id },
    );
    expect(read.data!.prediction).toMatchObject({
      status: 'SUCCEEDED',
      outputs: [{ data: [0, 1, 3, 5] }],
      cost: { amount: '0.0020000000' },
    });
    expect(await usageRecords(job.id)).toBe(1);
  }, 90_000);

  it('finishes a job whose worker was SIGKILLed mid-run on another worker, billed once', async () => {
    // Only the slow worker may take this job: the first worker leaves (SIGTERM: finishes, exits).
    await worker.stop();
    // A request in this worker's pool waits 10 s for a batch to fill: a job that stays RUNNING.
    const slow = await startWorkerProcess({ ...shared(), INFERENCE_MAX_QUEUE_DELAY_MS: '10000' });
    const sub = await subscribeEvents(api1.origin);
    const job = await createJob(api2.origin);
    await until(() => sub.statuses.get(job.id)?.includes('RUNNING') ?? false, 'RUNNING on the slow worker');
    await slow.kill();
    // The premise: it died with the job RUNNING (not yet finished, not billed).
    const [row] = await sql<{ status: string }>('select status from predictions where id = ?', [job.id]);
    expect(row?.status).toBe('RUNNING');
    expect(await usageRecords(job.id)).toBe(0);

    const killedAt = Date.now();
    const rescuer = await startWorkerProcess(shared());
    await until(() => sub.statuses.get(job.id)?.includes('SUCCEEDED') ?? false, 'SUCCEEDED after the crash', 90_000);
    // Information only (no timed assertions in tests): kill to SUCCEEDED, rescuer start included.
    process.stdout.write(`[scale-out] recovered ${((Date.now() - killedAt) / 1000).toFixed(1)} s after SIGKILL\n`);
    await sub.close();
    // The rescuer took the job again (a second RUNNING), then finished it.
    const seen = sub.statuses.get(job.id)!;
    expect(seen[0]).toBe('QUEUED');
    expect(seen.at(-1)).toBe('SUCCEEDED');
    expect(seen.filter((s) => s === 'SUCCEEDED')).toHaveLength(1);
    expect(new Set(seen.slice(1, -1))).toEqual(new Set(['RUNNING']));

    expect(await usageRecords(job.id)).toBe(1);
    const running = await sql<{ n: string }>(`select count(*) as n from predictions where status = 'RUNNING'`);
    expect(Number(running[0]?.n)).toBe(0);
    const [counter] = await sql<{ prediction_count: number }>('select prediction_count from models where id = ?', [
      modelId,
    ]);
    // Two jobs succeeded in this file, each counted once.
    expect(Number(counter?.prediction_count)).toBe(2);
    // Nothing left active or waiting in the shared queue.
    const queueKeys = await redis.keys(`${queuePrefix}:predictions:active`);
    const active = queueKeys.length ? await redis.llen(`${queuePrefix}:predictions:active`) : 0;
    expect(active).toBe(0);
    await rescuer.stop();
  }, 150_000);
});
