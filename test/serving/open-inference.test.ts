// The Open Inference Protocol (KServe v2) REST endpoints, as a Triton or KServe client calls them:
// JSON bodies and Triton's binary tensor extension (framed here from the spec, not by a client
// library), outputs compared with a direct onnxruntime run, and billed exactly like `predict`.
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Role } from '../../src/entities/enums.js';
import type { Model } from '../../src/entities/model.entity.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import { UsageRecord } from '../../src/entities/usage-record.entity.js';
import type { User } from '../../src/entities/user.entity.js';
import { TEST_MODELS, TEST_MODELS_DIR } from '../../src/inference/test-models.js';
import { PredictDocument } from '../generated/graphql.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { apiKeyFor, apiKeyHeaders, authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let f: Factory;
let consumer: User;
let twoInputs: Model;
let mlp: Model;
let key: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  f = new Factory(server.app);
  const publisher = await f.user({ role: Role.PUBLISHER });
  consumer = await f.user();
  twoInputs = await f.model(publisher, { pricePerRequest: '0.0020000000' });
  await storedVersion(server.app, twoInputs, 'two-inputs', { version: '1.0.0' });
  mlp = await f.model(publisher);
  await storedVersion(server.app, mlp, 'mlp-small', { version: '2.1.0' });
  key = apiKeyHeaders(await apiKeyFor(server.app, consumer, ['predict']));
}, 60_000);
afterAll(async () => server?.close());

const url = (path: string) => `${server.origin}${path}`;
const getJson = async (path: string, headers: Record<string, string> = key) => {
  const res = await fetch(url(path), { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const infer = (slug: string, body: unknown, headers: Record<string, string> = key) =>
  fetch(url(`/v2/models/${slug}/infer`), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

it('answers the health, server and model metadata endpoints', async () => {
  expect(await getJson('/v2/health/live')).toEqual({ status: 200, body: { live: true } });
  expect(await getJson('/v2/health/ready')).toEqual({ status: 200, body: { ready: true } });
  expect((await getJson('/v2')).body).toMatchObject({ extensions: ['binary_tensor_data'] });
  const meta = await getJson(`/v2/models/${twoInputs.slug}`);
  expect(meta).toEqual({
    status: 200,
    body: {
      name: twoInputs.slug,
      versions: ['1.0.0'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [-1, 3] },
        { name: 'k', datatype: 'INT64', shape: [-1, 3] },
      ],
      outputs: [
        { name: 'y', datatype: 'FP32', shape: [-1, 3] },
        { name: 's', datatype: 'INT64', shape: [-1] },
      ],
    },
  });
  expect((await getJson(`/v2/models/${mlp.slug}/versions/2.1.0/ready`)).body).toEqual({ ready: true });
  const missing = await getJson('/v2/models/no-such-model');
  expect(missing.status).toBe(404);
  expect(missing.body.error).toMatch(/not found/);
});

it('infers from JSON (nested data too), echoes the id and honours requested outputs', async () => {
  const res = await infer(twoInputs.slug, {
    id: 'req-42',
    inputs: [
      { name: 'x', shape: [1, 3], datatype: 'FP32', data: [[1.5, 2, -1]] },
      { name: 'k', shape: [1, 3], datatype: 'INT64', data: [2, 3, 4] },
    ],
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({
    model_name: twoInputs.slug,
    model_version: '1.0.0',
    id: 'req-42',
    outputs: [
      { name: 'y', datatype: 'FP32', shape: [1, 3], data: [3, 6, -4] },
      { name: 's', datatype: 'INT64', shape: [1], data: [9] },
    ],
  });
  const only = await infer(twoInputs.slug, {
    inputs: [
      { name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 1, 1] },
      { name: 'k', shape: [1, 3], datatype: 'INT64', data: [1, 1, 1] },
    ],
    outputs: [{ name: 's' }],
  });
  expect(((await only.json()) as { outputs: unknown[] }).outputs).toEqual([
    { name: 's', datatype: 'INT64', shape: [1], data: [3] },
  ]);
});

it('speaks the binary tensor extension both ways, matching a direct onnxruntime run', async () => {
  const rows = 2;
  const x = Float32Array.from({ length: rows * 16 }, (_, i) => Math.sin(i) * 3);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'input', shape: [rows, 16], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }],
      outputs: [{ name: 'logits', parameters: { binary_data: true } }],
    }),
  );
  const res = await fetch(url(`/v2/models/${mlp.slug}/versions/2.1.0/infer`), {
    method: 'POST',
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
      ...key,
    },
    body: Buffer.concat([header, Buffer.from(x.buffer)]),
  });
  expect(res.status).toBe(200);
  const jsonLength = Number(res.headers.get('inference-header-content-length'));
  const body = Buffer.from(await res.arrayBuffer());
  const head = JSON.parse(body.subarray(0, jsonLength).toString('utf8')) as {
    outputs: { name: string; datatype: string; shape: number[]; parameters: { binary_data_size: number } }[];
  };
  expect(head.outputs).toEqual([
    { name: 'logits', datatype: 'FP32', shape: [rows, 4], parameters: { binary_data_size: rows * 4 * 4 } },
  ]);
  const bytes = body.subarray(jsonLength);
  expect(bytes.length).toBe(rows * 4 * 4);
  const got = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));

  // onnxruntime in a plain Node process (Jest's VM realm has typed arrays of its own).
  const script = `
    const ort = require('onnxruntime-node');
    const [path, xs, rows] = JSON.parse(process.argv[1]);
    ort.InferenceSession.create(path).then(async (s) => {
      const out = await s.run({ input: new ort.Tensor('float32', Float32Array.from(xs), [rows, 16]) });
      process.stdout.write(JSON.stringify(Array.from(out.logits.data)));
    });`;
  const direct = spawnSync(
    process.execPath,
    ['-e', script, JSON.stringify([join(TEST_MODELS_DIR, TEST_MODELS['mlp-small'].fileName), [...x], rows])],
    { encoding: 'utf8' },
  );
  expect(direct.status).toBe(0);
  expect([...got]).toEqual([...Float32Array.from(JSON.parse(direct.stdout) as number[])]);
});

it('refuses bad requests and callers with the protocol’s status codes and { error }', async () => {
  const anonymous = await infer(twoInputs.slug, { inputs: [] }, {});
  expect(anonymous.status).toBe(401);
  const badKey = await infer(twoInputs.slug, { inputs: [] }, { 'x-api-key': 'aimpk_not_a_key' });
  expect(badKey.status).toBe(401);
  expect(((await badKey.json()) as { error: string }).error).toBeTruthy();
  const datatype = await infer(twoInputs.slug, {
    inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP16', data: [1, 2, 3] }],
  });
  expect(datatype.status).toBe(400);
  expect(((await datatype.json()) as { error: string }).error).toMatch(/datatype "FP16"/);
  const shape = await infer(twoInputs.slug, {
    inputs: [
      { name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
      { name: 'k', shape: [1, 3], datatype: 'INT64', data: [1, 2, 3] },
    ],
  });
  expect(shape.status).toBe(400);
  const frame = await fetch(url(`/v2/models/${twoInputs.slug}/infer`), {
    method: 'POST',
    headers: { 'inference-header-content-length': '999', ...key },
    body: '{}',
  });
  expect(frame.status).toBe(400);
  expect(frame.headers.get('x-request-id')).toBeTruthy();
});

it('bills an infer exactly as the same predict over GraphQL', async () => {
  const payer = await f.user();
  const payerKey = apiKeyHeaders(await apiKeyFor(server.app, payer, ['predict']));
  const inputs = [
    { name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
    { name: 'k', shape: [1, 3], datatype: 'INT64', data: [1, 1, 1] },
  ];
  expect((await infer(twoInputs.slug, { inputs }, payerKey)).status).toBe(200);
  const gql = await server.gql(
    PredictDocument,
    {
      modelId: twoInputs.id,
      inputs: [
        { name: 'x', dtype: 'float32', shape: [1, 3], data: [1, 2, 3] },
        { name: 'k', dtype: 'int64', shape: [1, 3], data: [1, 1, 1] },
      ],
    },
    await authHeaders(server.app, payer),
  );
  expect(gql.errors).toBeUndefined();
  const em = server.app.db.orm.em.fork();
  const predictions = await em.find(Prediction, { user: payer.id }, { orderBy: { createdAt: 'asc' } });
  expect(predictions.map((p) => [p.status, p.mode, p.cost])).toEqual([
    ['SUCCEEDED', 'SYNC', '0.0020000000'],
    ['SUCCEEDED', 'SYNC', '0.0020000000'],
  ]);
  expect(await em.count(UsageRecord, { prediction: { $in: predictions.map((p) => p.id) } })).toBe(2);
  // One bounded route label for every model's infer (slugs never become label values).
  const metrics = await (await fetch(url('/metrics'))).text();
  expect(metrics).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/v2\/infer"[^}]*\} \d+/);
  expect(metrics).not.toContain(twoInputs.slug);
});

it('lets a browser page on an allowed origin send binary tensors and read the framing header', async () => {
  const preflight = await fetch(url(`/v2/models/${twoInputs.slug}/infer`), {
    method: 'OPTIONS',
    headers: {
      origin: 'http://localhost:5173',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'x-api-key, inference-header-content-length',
    },
  });
  expect(preflight.status).toBe(204);
  expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  expect(preflight.headers.get('access-control-allow-headers')).toContain('inference-header-content-length');
});
