// SIGTERM while a model runs forever: the real entry point, a publisher's model whose Loop count
// comes from an input, a consumer's predict asking for 10^12 iterations, then SIGTERM. The
// process exits 0 within its grace period (not at the shutdown deadline, not by SIGKILL), and
// the worker process that was running the model is gone with it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import {
  CreateModelDocument,
  ModelVersionsDocument,
  PredictDocument,
  UploadModelVersionDocument,
} from '../generated/graphql.js';
import { postMultipart } from '../publishing/multipart.js';
import { startApiProcess, stopAll, type AppProcess } from '../support/app-processes.js';
import { loopInputTripsModel } from '../support/hostile-models.js';
import { alive, childProcesses, cpuSeconds, until } from '../support/processes.js';
import { createTestDatabase } from '../support/test-database.js';

const GRACE_MS = 3000;

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let dataDir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'mm-hostile-shutdown-'));
});
afterAll(async () => {
  await stopAll();
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function gql<T>(api: AppProcess, query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  const res = await fetch(`${api.origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

const REGISTER = 'mutation($input: RegisterInput!) { register(input: $input) { accessToken } }';

async function register(api: AppProcess, role: 'PUBLISHER' | 'CONSUMER'): Promise<string> {
  const n = Math.random().toString(36).slice(2, 10);
  const input = {
    email: `${role.toLowerCase()}-${n}@example.test`,
    password: `a long pass ${n}!`,
    displayName: n,
    role,
  };
  return (await gql<{ register: { accessToken: string } }>(api, REGISTER, { input })).register.accessToken;
}

it('exits 0 within its grace period on SIGTERM while a run never ends, and takes its workers with it', async () => {
  const api = await startApiProcess({
    DATA_DIR: dataDir,
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    MIGRATE_ON_START: 'true',
    SHUTDOWN_GRACE_MS: String(GRACE_MS),
    INFERENCE_WORKERS: '2',
    INFERENCE_TIMEOUT_MS: '600000',
  });
  const publisher = await register(api, 'PUBLISHER');
  const consumer = await register(api, 'CONSUMER');
  const { createModel } = await gql<{ createModel: { id: string } }>(
    api,
    print(CreateModelDocument),
    { input: { slug: 'loop-from-input', name: 'Loop from input', task: 'feature-transform' } },
    publisher,
  );
  const uploaded = await postMultipart(
    api.origin,
    UploadModelVersionDocument,
    { modelId: createModel.id, version: '1.0.0' },
    { bytes: loopInputTripsModel(), filename: 'loop.onnx' },
    { authorization: `Bearer ${publisher}` },
  );
  expect(uploaded.errors).toBeUndefined();
  await until(
    async () => {
      const { model } = await gql<{ model: { versions: { edges: { node: { status: string } }[] } } }>(
        api,
        print(ModelVersionsDocument),
        { id: createModel.id },
        publisher,
      );
      return model.versions.edges[0]?.node.status === 'READY';
    },
    'the version to be READY',
    60_000,
  );

  const workers = childProcesses(api.child.pid).filter((c) => c.cmdline.includes('inference-worker'));
  expect(workers).toHaveLength(2);
  const cpu0 = workers.map((w) => cpuSeconds(w.pid));
  const hanging = fetch(`${api.origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${consumer}` },
    body: JSON.stringify({
      query: print(PredictDocument),
      variables: {
        modelId: createModel.id,
        inputs: [
          { name: 'x', dtype: 'float32', shape: [1], data: [0] },
          { name: 'n', dtype: 'int64', shape: [1], data: ['1000000000000'] },
        ],
      },
    }),
  }).then(
    (r) => r.status,
    () => 'connection closed',
  );
  // It is running: one worker is busy on it.
  await until(() => workers.some((w, i) => cpuSeconds(w.pid) - cpu0[i] > 0.3), 'the run to start');

  const signalled = performance.now();
  api.child.kill('SIGTERM');
  const code = await api.exited;
  const tookMs = performance.now() - signalled;
  await hanging;
  expect(code).toBe(0);
  // Within the grace period (plus what closing the database takes), well before the deadline.
  expect(tookMs).toBeLessThan(GRACE_MS + 3000);
  expect(api.logs.some((l) => l.msg === 'stopped')).toBe(true);
  for (const w of workers) expect(alive(w.pid)).toBe(false);
}, 180_000);
