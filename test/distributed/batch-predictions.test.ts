// A 10,000-row batch across real processes, as it is deployed: an API process that runs no jobs
// takes the file, worker processes (src/worker.ts) make its rows and run them through BullMQ on
// Redis, and a graphql-ws client follows its progress on the API. Midway the worker is SIGKILLed;
// another takes over (stalled jobs come back, the expansion resumes at its last committed chunk)
// and the batch completes with every row run and billed exactly once.
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { WebSocket } from 'ws';
import {
  BatchPredictionUpdatedDocument,
  CreateBatchPredictionDocument,
  type BatchFieldsFragment,
} from '../generated/graphql.js';
import { postMultipart } from '../publishing/multipart.js';
import { startApiProcess, startWorkerProcess, type AppProcess } from '../support/app-processes.js';
import { createProcessWorld, type ProcessWorld } from '../support/process-world.js';

const redisUrl = process.env.REDIS_URL;
const databaseUrl = process.env.DATABASE_URL;
const withServices = redisUrl && databaseUrl ? describe : describe.skip;

const ROWS = 10_000;

withServices('a 10,000-row batch on PostgreSQL + Redis, its worker killed midway', () => {
  let world: ProcessWorld;
  let api: AppProcess;
  let client: Client | undefined;

  const env = () =>
    world.env({
      JOB_CONCURRENCY: '32',
      // Short locks, so the killed worker's jobs come back within seconds.
      JOB_LOCK_MS: '2000',
      JOB_SWEEP_INTERVAL_MS: '2000',
      JOB_SWEEP_STALE_MS: '2000',
    });

  beforeAll(async () => {
    world = await createProcessWorld('batch');
    api = await startApiProcess({ ...env(), RUN_JOBS: 'false', INFERENCE_START: 'lazy' });
  }, 180_000);

  afterAll(async () => {
    await Promise.resolve(client?.dispose());
    await world?.close();
  }, 60_000);

  it('completes with every row run and billed once, its progress streamed throughout', async () => {
    const { authorization, modelId } = world;
    const lines = Array.from({ length: ROWS }, (_, i) =>
      JSON.stringify({ inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [i % 97, -1, 0.5, i % 7] }] }),
    );
    const started = Date.now();
    const res = await postMultipart(
      api.origin,
      CreateBatchPredictionDocument,
      { input: { modelId } },
      { bytes: Buffer.from(lines.join('\n')), filename: 'rows.jsonl' },
      { authorization },
    );
    expect(res.errors).toBeUndefined();
    const batch = res.data!.createBatchPrediction;
    expect(batch).toMatchObject({ status: 'QUEUED', totalRows: ROWS });

    client = createClient({
      url: `${api.origin.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization },
      retryAttempts: 0,
    });
    const seen: BatchFieldsFragment[] = [];
    const reading = (async () => {
      for await (const e of client.iterate({
        query: print(BatchPredictionUpdatedDocument),
        variables: { id: batch.id },
      })) {
        seen.push((e.data as { batchPredictionUpdated: BatchFieldsFragment }).batchPredictionUpdated);
      }
    })();

    let worker = await startWorkerProcess(env());
    const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 240_000) => {
      const end = Date.now() + ms;
      while (!(await check())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    // Midway: some rows done, many still to run.
    await until('a tenth of the rows to succeed', () => (seen.at(-1)?.succeeded ?? 0) >= ROWS / 10);
    await worker.kill();
    const killedAt = seen.at(-1)!;
    expect(killedAt.succeeded).toBeLessThan(ROWS);
    worker = await startWorkerProcess(env());
    await reading;
    const elapsed = (Date.now() - started) / 1000;

    const last = seen.at(-1)!;
    expect(last).toMatchObject({ status: 'COMPLETED', succeeded: ROWS, failed: 0, canceled: 0, skipped: 0, queued: 0 });
    expect(last.cost).toEqual({ amount: '20.00', currency: 'USD' });
    expect(last.resultsUrl).toBe(`/batches/${batch.id}/results.jsonl`);
    // Progress arrived as it went, a few times a second at most per process, never backwards.
    expect(seen.length).toBeGreaterThan(5);
    for (let i = 1; i < seen.length; i++) expect(seen[i].succeeded).toBeGreaterThanOrEqual(seen[i - 1].succeeded);

    // Exactly once: one prediction per row, one usage record per prediction.
    const [counts] = await world.sql<{ predictions: number; rows: number; usage: number; running: number }>(
      `select count(*)::int as predictions, count(distinct batch_row)::int as rows,
         (select count(*)::int from usage_records u join predictions q on q.id = u.prediction_id where q.batch_id = ?) as usage,
         count(*) filter (where status <> 'SUCCEEDED')::int as running
       from predictions where batch_id = ?`,
      [batch.id, batch.id],
    );
    expect(counts).toEqual({ predictions: ROWS, rows: ROWS, usage: ROWS, running: 0 });

    const got = await fetch(`${api.origin}${last.resultsUrl}`, { headers: { authorization } });
    expect(got.status).toBe(200);
    const results = (await got.text()).trim().split('\n');
    expect(results).toHaveLength(ROWS);
    expect(JSON.parse(results[ROWS - 1])).toMatchObject({ row: ROWS - 1, status: 'SUCCEEDED' });
    // Information only (no timed assertions in tests).
    process.stdout.write(
      `[batch] ${ROWS} rows in ${elapsed.toFixed(1)} s (${Math.round(ROWS / elapsed)} rows/s), worker killed at ${killedAt.succeeded} succeeded, ${seen.length} progress events\n`,
    );
    await worker.stop();
  }, 300_000);
});
