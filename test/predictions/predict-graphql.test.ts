// `predict` end to end over HTTP: a real server, a real token or API key, a stored ONNX file,
// the worker pool, and the Prediction it records.
import { PredictDocument } from '../generated/graphql.js';
import { Role } from '../../src/entities/enums.js';
import { apiKeyFor, apiKeyHeaders, authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { storedVersion } from './prediction-fixtures.js';

let server: TestServer;
let f: Factory;

beforeAll(async () => {
  server = await startTestServer();
  f = new Factory(server.app);
});
afterAll(async () => server?.close());

it('runs a two-input, two-output model and returns the prediction record', async () => {
  const consumer = await f.user();
  const model = await f.model(await f.user({ role: Role.PUBLISHER }), { pricePerRequest: '0.002' });
  await storedVersion(server.app, model, 'two-inputs', { version: '1.2.0' });
  const res = await server.gql(
    PredictDocument,
    {
      modelId: model.id,
      inputs: [
        { name: 'x', dtype: 'float32', shape: [1, 3], data: [1.5, 2, -1] },
        { name: 'k', dtype: 'int64', shape: [1, 3], data: ['2', 3, 4] },
      ],
    },
    await authHeaders(server.app, consumer),
  );
  expect(res.errors).toBeUndefined();
  const predict = res.data!.predict;
  expect(predict.outputs).toEqual([
    { name: 'y', dtype: 'float32', shape: [1, 3], data: [3, 6, -4], b64: null },
    { name: 's', dtype: 'int64', shape: [1], data: ['9'], b64: null },
  ]);
  expect(predict.prediction).toMatchObject({
    status: 'SUCCEEDED',
    mode: 'SYNC',
    device: 'cpu',
    batchSize: 1,
    error: null,
    model: { id: model.id },
    version: { version: '1.2.0' },
  });
  expect(predict.prediction.cost?.currency).toBe('USD');
  expect(Number(predict.prediction.cost?.amount)).toBe(0.002);
});

it('returns b64 outputs to an API key with the predict scope', async () => {
  const consumer = await f.user();
  const model = await f.model(await f.user({ role: Role.PUBLISHER }));
  await storedVersion(server.app, model, 'elementwise');
  const x = Buffer.from(new Float32Array([0, 1, 2, 3]).buffer).toString('base64');
  const res = await server.gql(
    PredictDocument,
    { modelId: model.id, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4], b64: x }], outputEncoding: 'B64' },
    apiKeyHeaders(await apiKeyFor(server.app, consumer, ['predict'])),
  );
  expect(res.errors).toBeUndefined();
  const out = res.data!.predict.outputs[0];
  expect(out.data).toBeNull();
  expect([...new Float32Array(new Uint8Array(Buffer.from(out.b64!, 'base64')).buffer)]).toEqual([1, 3, 5, 7]);
});

it('answers bad tensors, missing auth and a throwing model with clear error codes', async () => {
  const consumer = await f.user();
  const publisher = await f.user({ role: Role.PUBLISHER });
  const model = await f.model(publisher);
  await storedVersion(server.app, model, 'elementwise');
  const headers = await authHeaders(server.app, consumer);
  const x = { name: 'x', dtype: 'float32', shape: [1, 4], data: [0, 1, 2, 3] };

  const anonymous = await server.gql(PredictDocument, { modelId: model.id, inputs: [x] });
  expect(anonymous.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');

  const keyWithoutScope = await server.gql(
    PredictDocument,
    { modelId: model.id, inputs: [x] },
    apiKeyHeaders(await apiKeyFor(server.app, consumer, ['models:read'])),
  );
  expect(keyWithoutScope.errors?.[0].extensions?.code).toBe('FORBIDDEN');

  const wrongShape = await server.gql(
    PredictDocument,
    { modelId: model.id, inputs: [{ ...x, shape: [1, 5] }] },
    headers,
  );
  expect(wrongShape.errors?.[0]).toMatchObject({
    message: 'input "x": dimension 1 is 5, the model expects 4 (shape [batch, 4])',
    extensions: { code: 'BAD_USER_INPUT', input: 'x' },
  });

  const both = await server.gql(PredictDocument, { modelId: model.id, inputs: [{ ...x, b64: 'AAAA' }] }, headers);
  expect(both.errors?.[0].message).toBe('input "x": give exactly one of data and b64');

  const throwing = await f.model(publisher);
  await storedVersion(server.app, throwing, 'throws');
  const failed = await server.gql(
    PredictDocument,
    { modelId: throwing.id, inputs: [{ name: 'x', dtype: 'float32', shape: [2], data: [1, 2] }] },
    headers,
  );
  expect(failed.errors?.[0].extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    reason: 'MODEL_ERROR',
    retryable: false,
  });
  expect(failed.errors?.[0].message).toMatch(/^the model failed on these inputs: /);
  expect(JSON.stringify(failed.errors)).not.toMatch(/onnxruntime_src|stack/);
});
