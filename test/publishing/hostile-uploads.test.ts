// Generated hostile models uploaded like any publisher's, while a bystander predicts on an honest
// model: each ends FAILED with a code and a measured reason (or, for the one that only hangs on
// some inputs, its request fails with a clear code), and meanwhile the bystander's predictions
// keep succeeding at their normal latency, /health/live answers at once, no sandbox process is
// left running and the API process's memory stays near where it started.
import { ApiKeyScope, Role } from '../../src/entities/enums.js';
import type { Model } from '../../src/entities/model.entity.js';
import type { User } from '../../src/entities/user.entity.js';
import { ModelVersionsDocument, PredictDocument, UploadModelVersionDocument } from '../generated/graphql.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { apiKeyFor, apiKeyHeaders, authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import {
  constantFoldingBombModel,
  deepIfModel,
  hugeDeclaredInitializerModel,
  longExternalPathModel,
  loopConstantTripsModel,
  loopInputTripsModel,
} from '../support/hostile-models.js';
import { childProcesses, cpuSeconds, rssBytes, until } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { postMultipart } from './multipart.js';

const ADMISSION_MS = 2000;
const ADMISSION_MB = 256;

let server: TestServer;
let f: Factory;
let consumer: Record<string, string>;
let honest: Model;

beforeAll(async () => {
  server = await startTestServer({
    INFERENCE_START: 'eager',
    INFERENCE_WORKERS: '2',
    INFERENCE_TIMEOUT_MS: '2000',
    INFERENCE_ADMISSION_TIMEOUT_MS: String(ADMISSION_MS),
    INFERENCE_ADMISSION_MAX_MEMORY_MB: String(ADMISSION_MB),
    INFERENCE_VALIDATIONS_PER_USER: '2',
    UPLOAD_MAX_BYTES: String(2 * 2 ** 20),
  });
  f = new Factory(server.app);
  consumer = await authHeaders(server.app, await f.user());
  honest = await f.model(await f.user({ role: Role.PUBLISHER }), { pricePerRequest: '0.001' });
  await storedVersion(server.app, honest, 'mlp-small', { version: '1.0.0' });
}, 120_000);
afterAll(async () => server?.close());

const row = Array.from({ length: 16 }, (_, i) => Math.sin(i));

async function predictHonest(): Promise<number> {
  const started = performance.now();
  const res = await server.gql(
    PredictDocument,
    { modelId: honest.id, inputs: [{ name: 'input', dtype: 'float32', shape: [1, 16], data: row }] },
    consumer,
  );
  if (res.errors) throw new Error(`bystander predict failed: ${JSON.stringify(res.errors)}`);
  return performance.now() - started;
}

/** A consumer predicting on the honest model, and a probe of /health/live, until stopped. */
function bystander() {
  const latencies: number[] = [];
  const live: number[] = [];
  const failures: string[] = [];
  let stop = false;
  const loops = [
    (async () => {
      while (!stop) {
        latencies.push(await predictHonest().catch((e: Error) => (failures.push(e.message), 0)));
        // A client at a steady pace, not a flood: the machine keeps room for the sandbox too.
        await new Promise((r) => setTimeout(r, 10));
      }
    })(),
    (async () => {
      while (!stop) {
        const t = performance.now();
        await fetch(`${server.origin}/health/live`);
        live.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 20));
      }
    })(),
  ];
  return {
    async stop() {
      stop = true;
      await Promise.all(loops);
      return { latencies, live, failures };
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sandboxes = () => childProcesses().filter((c) => c.cmdline.includes('model-validator.worker'));

async function upload(owner: User, model: Model, version: string, bytes: Uint8Array, headers?: Record<string, string>) {
  return postMultipart(
    server.origin,
    UploadModelVersionDocument,
    { modelId: model.id, version },
    { bytes, filename: 'model.onnx' },
    headers ?? (await authHeaders(server.app, owner)),
  );
}

async function uploadAndSettle(name: string, bytes: Uint8Array) {
  const owner = await f.user({ role: Role.PUBLISHER });
  const model = await f.model(owner);
  const res = await upload(owner, model, '1.0.0', bytes);
  expect(res.errors).toBeUndefined();
  const id = res.data!.uploadModelVersion.id;
  await server.app.services.versions.whenValidated(id);
  const listed = await server.gql(ModelVersionsDocument, { id: model.id }, await authHeaders(server.app, owner));
  const node = listed.data!.model.versions.edges.find((e) => e.node.id === id)!.node;
  return { name, owner, model, ...node };
}

it('refuses each hostile upload with a code and what was measured, while a bystander predicts at its normal latency', async () => {
  const baseline: number[] = [];
  for (let i = 0; i < 30; i++) baseline.push(await predictHonest());
  const rssBefore = rssBytes();
  const watching = bystander();

  const results = [];
  for (const [name, bytes] of [
    ['a Loop with a constant 10^12 trip count', loopConstantTripsModel()],
    ['ConstantOfShape of 2^28 floats, folded at load', constantFoldingBombModel(2 ** 28)],
    ['a sparse initializer declaring 2^28 floats', hugeDeclaredInitializerModel(2 ** 28)],
    ['1000 nested If nodes', deepIfModel(1000)],
    ['an external-data path of 60,000 characters', longExternalPathModel(60_000)],
  ] as const) {
    const t0 = performance.now();
    results.push(await uploadAndSettle(name, bytes));
    console.log(
      name,
      Math.round(performance.now() - t0),
      JSON.stringify(results.at(-1)?.statusReason),
      results.at(-1)?.statusCode,
    );
  }
  const seen = await watching.stop();

  const byName = Object.fromEntries(results.map((r) => [r.name, r]));
  for (const r of results) {
    expect({ name: r.name, status: r.status }).toEqual({ name: r.name, status: 'FAILED' });
    expect(r.statusReason!.length).toBeLessThanOrEqual(500);
    expect(r.statusReason).not.toContain(server.app.config.modelStorageDir);
    expect(r.statusReason).not.toMatch(/onnxruntime_src|\.cc:\d+/);
  }
  const loop = byName['a Loop with a constant 10^12 trip count'];
  expect(loop.statusCode).toBe('MODEL_TOO_EXPENSIVE');
  expect(loop.statusReason).toMatch(
    /takes more than the 2 s of CPU time a model may take \(stopped after \d+\.\d s of CPU/,
  );
  for (const bomb of [
    byName['ConstantOfShape of 2^28 floats, folded at load'],
    byName['a sparse initializer declaring 2^28 floats'],
  ]) {
    expect(bomb.statusCode).toBe('MODEL_TOO_EXPENSIVE');
    expect(bomb.statusReason).toMatch(new RegExp(`needs more than the ${ADMISSION_MB} MB of memory`));
  }
  expect(byName['1000 nested If nodes'].statusCode).toBe('CORRUPT');
  expect(byName['an external-data path of 60,000 characters'].statusCode).toMatch(/INVALID_GRAPH|UNKNOWN/);

  // The bystander: every prediction succeeded, at its normal latency (generous for shared CI).
  expect(seen.failures).toEqual([]);
  expect(seen.latencies.length).toBeGreaterThan(10);
  expect(median(seen.latencies)).toBeLessThan(median(baseline) * 4 + 25);
  // The API's event loop never stalled (the 60k path took /health/live 11 s to answer before).
  expect(Math.max(...seen.live)).toBeLessThan(1000);
  // Nothing left running, nothing kept: no sandbox process, memory near its start.
  await until(() => sandboxes().length === 0, 'every sandbox process to be gone');
  // Each bomb above would hold 1 GiB if anything kept it; a quiet run grows ~30 MiB, one on a
  // loaded 2-core machine (slow bystander traffic, lazy GC) was seen at 156 MiB.
  const growth = rssBytes() - rssBefore;
  process.stdout.write(`[hostile-uploads] RSS growth ${Math.round(growth / 2 ** 20)} MiB\n`);
  expect(growth).toBeLessThan(384 * 2 ** 20);
}, 120_000);

it('admits a model that only hangs on some inputs; a request that makes it hang fails with a final TIMEOUT', async () => {
  const hostile = await uploadAndSettle('loop count from an input', loopInputTripsModel());
  expect(hostile.status).toBe('READY');
  const baseline: number[] = [];
  for (let i = 0; i < 20; i++) baseline.push(await predictHonest());
  const watching = bystander();
  const started = performance.now();
  const res = await server.gql(
    PredictDocument,
    {
      modelId: hostile.model.id,
      inputs: [
        { name: 'x', dtype: 'float32', shape: [1], data: [0] },
        { name: 'n', dtype: 'int64', shape: [1], data: ['1000000000000'] },
      ],
    },
    consumer,
  );
  const seen = await watching.stop();
  expect(res.errors?.[0]?.extensions).toMatchObject({
    code: 'SERVICE_UNAVAILABLE',
    reason: 'TIMEOUT',
    stage: 'running',
    retryable: false,
  });
  expect(performance.now() - started).toBeLessThan(2000 + 5000);
  expect(seen.failures).toEqual([]);
  expect(median(seen.latencies)).toBeLessThan(median(baseline) * 4 + 25);
  // The worker that ran it was killed: every worker left is idle.
  await until(() => server.app.inference.health().ready === 2, 'a replacement worker');
  const workers = childProcesses().filter((c) => c.cmdline.includes('inference-worker'));
  const cpu0 = workers.map((w) => cpuSeconds(w.pid));
  await new Promise((r) => setTimeout(r, 1000));
  expect(Math.max(...workers.map((w, i) => cpuSeconds(w.pid) - cpu0[i]))).toBeLessThan(0.3);
}, 60_000);

it('bounds one publisher’s validations in flight, across API keys; others upload meanwhile', async () => {
  const owner = await f.user({ role: Role.PUBLISHER });
  const model = await f.model(owner);
  // Two slow validations (each runs to the admission budget): the most one publisher may have.
  const first = await upload(owner, model, '1.0.0', loopConstantTripsModel(1e12));
  const second = await upload(owner, model, '1.0.1', loopConstantTripsModel(1e12 + 1));
  expect([first.errors, second.errors]).toEqual([undefined, undefined]);
  // Another credential of the same publisher counts against the same bound.
  const key = apiKeyHeaders(await apiKeyFor(server.app, owner, [ApiKeyScope.MODELS_WRITE]));
  const third = await upload(owner, model, '1.0.2', loopConstantTripsModel(1e12 + 2), key);
  expect(third.errors?.[0]?.extensions).toMatchObject({
    code: 'RATE_LIMITED',
    reason: 'VALIDATIONS_IN_FLIGHT',
    limit: 2,
    retryable: true,
  });
  const other = await f.user({ role: Role.PUBLISHER });
  const theirs = await upload(other, await f.model(other), '1.0.0', loopConstantTripsModel(7));
  expect(theirs.errors).toBeUndefined();
  for (const r of [first, second, theirs])
    await server.app.services.versions.whenValidated(r.data!.uploadModelVersion.id);
  expect((await upload(owner, model, '1.0.2', loopConstantTripsModel(1e12 + 2))).errors).toBeUndefined();
}, 60_000);
