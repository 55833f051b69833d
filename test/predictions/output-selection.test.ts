// Output selection (`outputs: [...]`) end to end: predict and createPrediction return only the
// outputs asked for, refuse names the model lacks before anything runs or is recorded, and the
// pool never batches requests that ask for different outputs into one run.
import { Role } from '../../src/entities/enums.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import { ModelVersion } from '../../src/entities/model-version.entity.js';
import { VersionPaths } from '../../src/predictions/runnable-version.js';
import { CreatePredictionDocument, PredictDocument, PredictionJobDocument } from '../generated/graphql.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { storedVersion } from './prediction-fixtures.js';

let server: TestServer;
let headers: Record<string, string>;
let modelId: string;
let consumerId: string;

const INPUTS = [
  { name: 'x', dtype: 'float32', shape: [1, 3], data: [1.5, 2, -1] },
  { name: 'k', dtype: 'int64', shape: [1, 3], data: ['2', 3, 4] },
];
const Y = { name: 'y', dtype: 'float32', shape: [1, 3], data: [3, 6, -4], b64: null };
const S = { name: 's', dtype: 'int64', shape: [1], data: ['9'], b64: null };

beforeAll(async () => {
  server = await startTestServer();
  const f = new Factory(server.app);
  const consumer = await f.user();
  consumerId = consumer.id;
  const model = await f.model(await f.user({ role: Role.PUBLISHER }), { pricePerRequest: '0.001' });
  await storedVersion(server.app, model, 'two-inputs', { version: '1.0.0' });
  modelId = model.id;
  headers = await authHeaders(server.app, consumer);
}, 60_000);
afterAll(async () => server?.close());

const recorded = () => server.app.db.orm.em.fork().count(Prediction, { user: consumerId });

it('predict returns only the outputs asked for, in the model’s order', async () => {
  const only = await server.gql(PredictDocument, { modelId, inputs: INPUTS, outputs: ['s'] }, headers);
  expect(only.errors).toBeUndefined();
  expect(only.data!.predict.outputs).toEqual([S]);
  const both = await server.gql(PredictDocument, { modelId, inputs: INPUTS, outputs: ['s', 'y', 's'] }, headers);
  expect(both.data!.predict.outputs).toEqual([Y, S]);
  const all = await server.gql(PredictDocument, { modelId, inputs: INPUTS }, headers);
  expect(all.data!.predict.outputs).toEqual([Y, S]);
});

it('refuses an unknown or empty selection before running or recording anything', async () => {
  const before = await recorded();
  const unknown = await server.gql(PredictDocument, { modelId, inputs: INPUTS, outputs: ['logits'] }, headers);
  expect(unknown.errors?.[0]).toMatchObject({
    message: 'no output named "logits"; the model\'s outputs are "y", "s"',
    extensions: { code: 'BAD_USER_INPUT', field: 'outputs', requestId: expect.any(String) },
  });
  const empty = await server.gql(PredictDocument, { modelId, inputs: INPUTS, outputs: [] }, headers);
  expect(empty.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  const queued = await server.gql(
    CreatePredictionDocument,
    { input: { modelId, inputs: INPUTS, outputs: ['nope'] } },
    headers,
  );
  expect(queued.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  expect(await recorded()).toBe(before);
});

it('a queued prediction keeps only the outputs asked for', async () => {
  const created = await server.gql(
    CreatePredictionDocument,
    { input: { modelId, inputs: INPUTS, outputs: ['y'] } },
    headers,
  );
  expect(created.errors).toBeUndefined();
  const id = created.data!.createPrediction.id;
  const end = Date.now() + 20_000;
  let job = (await server.gql(PredictionJobDocument, { id }, headers)).data!.prediction;
  while (job.status !== 'SUCCEEDED' && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 25));
    job = (await server.gql(PredictionJobDocument, { id }, headers)).data!.prediction;
  }
  expect(job.status).toBe('SUCCEEDED');
  expect(job.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: [1, 3], data: [3, 6, -4] }]);
});

it('batches only requests that ask for the same outputs, and gives each its own', async () => {
  const version = await server.app.db.orm.em.fork().findOneOrFail(ModelVersion, { model: modelId });
  const poolVersion = {
    ...(await new VersionPaths(server.app.storage).poolVersion(version)),
    batching: { enabled: true, maxBatchSize: 64, maxQueueDelayMs: 20 },
  };
  const tensors = (i: number) => [
    { name: 'x', dtype: 'float32' as const, dims: [1, 3], data: new Float32Array([i, i, i]).buffer },
    { name: 'k', dtype: 'int64' as const, dims: [1, 3], data: new BigInt64Array([1n, 2n, 3n]).buffer },
  ];
  const selections = [undefined, ['y'], ['s'], undefined, ['y'], ['s']];
  const runs = await Promise.all(
    selections.map((outputs, i) => server.app.inference.run(poolVersion, tensors(i), { outputs })),
  );
  runs.forEach((r, i) => {
    expect(r.outputs.map((o) => o.name)).toEqual(selections[i] ?? ['y', 's']);
    const y = r.outputs.find((o) => o.name === 'y');
    if (y) expect([...new Float32Array(y.data as ArrayBuffer)]).toEqual([i, 2 * i, 3 * i]);
  });
  // Three selections, twice each: they could share three runs of two, never one run of six.
  expect(Math.max(...runs.map((r) => r.batchSize))).toBeLessThanOrEqual(2);
});
