// MODEL_STORAGE=s3 as deployed across machines: an API process and a worker that share no folder
// (each its own DATA_DIR and cache), one S3-compatible bucket (s3rver, started by the harness),
// PostgreSQL and Redis. A publisher uploads a version through the API (validated there from the
// API's cache), a consumer's queued prediction runs in the worker (which fetches the file from
// the bucket), and a batch file goes in through the API and its results come back through it,
// written by the worker.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import {
  BatchPredictionDocument,
  CreateBatchPredictionDocument,
  CreatePredictionDocument,
  ModelVersionsDocument,
  PredictionJobDocument,
  UploadModelVersionDocument,
} from '../generated/graphql.js';
import { postMultipart } from '../publishing/multipart.js';
import { startApiProcess, startWorkerProcess, type AppProcess } from '../support/app-processes.js';
import { createProcessWorld, type ProcessWorld } from '../support/process-world.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { waitFor } from '../support/processes.js';

const withServices = process.env.REDIS_URL && process.env.DATABASE_URL ? describe : describe.skip;

withServices('an API and a worker sharing only an S3 bucket', () => {
  let s3: S3Server;
  let world: ProcessWorld;
  let api: AppProcess;
  const folders: Record<'api' | 'worker', string> = { api: '', worker: '' };

  /** A process's own folders: nothing on disk is shared between the two. */
  const own = (role: 'api' | 'worker') => {
    folders[role] = mkdtempSync(join(tmpdir(), `mm-s3-${role}-`));
    return { DATA_DIR: folders[role], MODEL_STORAGE_DIR: join(folders[role], 'models') };
  };

  beforeAll(async () => {
    s3 = await startS3Server();
    world = await createProcessWorld('s3', s3.env());
    [api] = await Promise.all([
      startApiProcess(world.env({ ...own('api'), RUN_JOBS: 'false', INFERENCE_START: 'lazy' })),
      startWorkerProcess(world.env(own('worker'))),
    ]);
  }, 180_000);

  afterAll(async () => {
    await world?.close();
    await s3?.close();
    for (const dir of Object.values(folders)) if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  async function gql<T>(
    document: Parameters<typeof print>[0],
    variables: Record<string, unknown>,
    authorization = world.authorization,
  ) {
    const res = await fetch(`${api.origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ query: print(document), variables }),
    });
    return (await res.json()) as { data?: T; errors?: { message: string }[] };
  }

  it('validates an upload from the bucket in the API and runs it in the worker', async () => {
    const bytes = await readFile(new URL('../fixtures/models/elementwise.onnx', import.meta.url));
    const uploaded = await postMultipart(
      api.origin,
      UploadModelVersionDocument,
      { modelId: world.modelId, version: '2.0.0' },
      { bytes, filename: 'model.onnx' },
      { authorization: world.publisherAuthorization },
    );
    expect(uploaded.errors).toBeUndefined();
    const versionId = uploaded.data!.uploadModelVersion.id;
    const ready = await waitFor('the version to be validated', async () => {
      const res = await gql<{ model: { versions: { edges: { node: { id: string; status: string } }[] } } }>(
        ModelVersionsDocument,
        { id: world.modelId },
        world.publisherAuthorization,
      );
      const node = res.data?.model.versions.edges.find((e) => e.node.id === versionId)?.node;
      return node && node.status !== 'PROCESSING' ? node : undefined;
    });
    expect(ready.status).toBe('READY');
    // The file is in the bucket, not in the API's storage folder.
    expect(existsSync(join(folders.api, 'models'))).toBe(false);

    const created = await gql<{ createPrediction: { id: string } }>(CreatePredictionDocument, {
      input: {
        modelId: world.modelId,
        version: '2.0.0',
        inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] }],
      },
    });
    expect(created.errors).toBeUndefined();
    const id = created.data!.createPrediction.id;
    const done = await waitFor('the job to finish in the worker', async () => {
      const res = await gql<{ prediction: { status: string; outputs: { data: number[] }[] | null } }>(
        PredictionJobDocument,
        { id },
      );
      const p = res.data?.prediction;
      return p && ['SUCCEEDED', 'FAILED'].includes(p.status) ? p : undefined;
    });
    expect(done).toMatchObject({ status: 'SUCCEEDED', outputs: [{ data: [0, 1, 3, 5] }] });
    // The worker ran it from its own cache of the bucket.
    const cached = readdirSync(join(folders.worker, 'model-cache'), { recursive: true }).map(String);
    expect(cached.some((p) => p.endsWith('.onnx'))).toBe(true);
  }, 120_000);

  it('takes a batch file in through the API and serves the results the worker wrote', async () => {
    const lines = Array.from({ length: 200 }, (_, i) =>
      JSON.stringify({ inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [i, 0, 0, 0] }] }),
    );
    const res = await postMultipart(
      api.origin,
      CreateBatchPredictionDocument,
      { input: { modelId: world.modelId } },
      { bytes: Buffer.from(lines.join('\n')), filename: 'rows.jsonl' },
      { authorization: world.authorization },
    );
    expect(res.errors).toBeUndefined();
    const id = res.data!.createBatchPrediction.id;
    const done = await waitFor('the batch to complete', async () => {
      const b = (
        await gql<{ batchPrediction: { status: string; succeeded: number; resultsUrl: string | null } }>(
          BatchPredictionDocument,
          { id },
        )
      ).data?.batchPrediction;
      return b?.resultsUrl ? b : undefined;
    });
    expect(done).toMatchObject({ status: 'COMPLETED', succeeded: 200 });
    const got = await fetch(`${api.origin}${done.resultsUrl}`, { headers: { authorization: world.authorization } });
    expect(got.status).toBe(200);
    const results = (await got.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { row: number; status: string });
    expect(results).toHaveLength(200);
    expect(results[199]).toMatchObject({ row: 199, status: 'SUCCEEDED' });
  }, 120_000);
});
