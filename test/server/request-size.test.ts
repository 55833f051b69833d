import { Role } from '../../src/entities/enums.js';
import { httpBodyLimit } from '../../src/inference/request-size.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * One request-size rule at the default limits: the HTTP body limit follows
 * INFERENCE_MAX_REQUEST_BYTES, so the largest tensor the inference limit allows fits when sent as
 * b64, and every too-large answer (body parser or inference limit) is HTTP 413 PAYLOAD_TOO_LARGE
 * with the limit and what to do. The model is elementwise.onnx (float32 [batch, 4]: 16 bytes a row).
 */
let server: TestServer;
let modelId: string;
let headers: Record<string, string>;
let maxTensorBytes: number;
let bodyLimit: number;

const PREDICT = `mutation ($modelId: ID!, $inputs: [TensorInput!]!) {
  predict(modelId: $modelId, inputs: $inputs, outputEncoding: B64) { outputs { name shape } prediction { status } }
}`;

beforeAll(async () => {
  server = await startTestServer();
  const f = new Factory(server.app);
  const model = await f.model(await f.user({ role: Role.PUBLISHER }));
  await storedVersion(server.app, model, 'elementwise');
  modelId = model.id;
  headers = await authHeaders(server.app, await f.user());
  maxTensorBytes = server.app.config.inference.maxRequestBytes;
  bodyLimit = httpBodyLimit(maxTensorBytes);
});
afterAll(async () => server?.close());

type Answer = {
  status: number;
  body: { data?: unknown; errors?: { message: string; extensions: Record<string, unknown> }[] };
};

async function post(body: string): Promise<Answer> {
  const res = await fetch(`${server.origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

function b64Body(rows: number): string {
  const b64 = Buffer.alloc(rows * 16, 1).toString('base64');
  return JSON.stringify({
    query: PREDICT,
    variables: { modelId, inputs: [{ name: 'x', dtype: 'float32', shape: [rows, 4], b64 }] },
  });
}

it('uses the defaults this test reasons about', () => {
  expect(maxTensorBytes).toBe(16 * 2 ** 20);
  // 16 MiB as b64 plus 1 MiB of envelope.
  expect(bodyLimit).toBe(22_369_624 + 1_048_576);
});

it('accepts the largest b64 tensor the inference limit allows; one row more is 413 with the limit and advice', async () => {
  const rows = maxTensorBytes / 16;
  const ok = await post(b64Body(rows));
  expect(ok.body.errors).toBeUndefined();
  expect(ok.status).toBe(200);
  expect(ok.body.data).toEqual({
    predict: { outputs: [{ name: 'y', shape: [rows, 4] }], prediction: { status: 'SUCCEEDED' } },
  });

  const over = await post(b64Body(rows + 1));
  expect(over.status).toBe(413);
  expect(over.body.errors).toHaveLength(1);
  const [error] = over.body.errors!;
  expect(error.extensions).toMatchObject({
    code: 'PAYLOAD_TOO_LARGE',
    maxBytes: maxTensorBytes,
    limit: 'INFERENCE_REQUEST',
    requestId: expect.any(String) as unknown,
  });
  expect(error.message).toContain(String(maxTensorBytes));
  expect(error.message).toMatch(/INFERENCE_MAX_REQUEST_BYTES/);
  expect(error.message).toMatch(/smaller tensors or fewer rows/);
  expect(error.message).toMatch(/createPrediction/);
  process.stdout.write(
    `[request-size] largest b64 tensor accepted: float32 [${rows}, 4] = ${rows * 16} bytes, body ${b64Body(rows).length} bytes\n`,
  );
}, 120_000);

it('accepts a JSON-float body of exactly the body limit; one byte more is 413 saying to send b64', async () => {
  // float32 values as JavaScript prints them (what JSON.stringify of a Float32Array's values gives).
  const value = String(Math.fround(0.1234567));
  const envelope = (data: string) =>
    JSON.stringify({
      query: PREDICT,
      variables: { modelId, inputs: [{ name: 'x', dtype: 'float32', shape: [0, 4], data: [] }] },
    }).replace('"data":[]', `"data":[${data}]`);
  const empty = envelope('').length;
  // Rows whose elements fit: n elements take n values and n - 1 commas (the shape grows by a few digits).
  const perRow = 4 * (value.length + 1);
  const rows = Math.floor((bodyLimit - empty - 16) / perRow);
  const tensorBody = (r: number) =>
    envelope(
      Array(r * 4)
        .fill(value)
        .join(','),
    ).replace('[0,4]', `[${r},4]`);
  const fitted = tensorBody(rows);
  const padding = bodyLimit - fitted.length;
  expect(padding).toBeGreaterThanOrEqual(0);
  expect(padding).toBeLessThan(perRow + 16);
  // JSON allows whitespace anywhere between tokens: pad to exactly the limit, then one byte over.
  const exact = fitted.replace('{"query"', `{${' '.repeat(padding)}"query"`);
  expect(Buffer.byteLength(exact)).toBe(bodyLimit);

  const ok = await post(exact);
  expect(ok.body.errors).toBeUndefined();
  expect(ok.body.data).toEqual({
    predict: { outputs: [{ name: 'y', shape: [rows, 4] }], prediction: { status: 'SUCCEEDED' } },
  });

  const over = await post(exact.replace('{', '{ '));
  expect(over.status).toBe(413);
  expect(over.body).toEqual({
    errors: [
      {
        message: expect.stringContaining(`${bodyLimit} bytes`) as unknown,
        extensions: {
          code: 'PAYLOAD_TOO_LARGE',
          maxBytes: bodyLimit,
          maxTensorBytes,
          limit: 'HTTP_BODY',
          requestId: expect.any(String) as unknown,
        },
      },
    ],
  });
  const { message } = over.body.errors![0];
  expect(message).toMatch(/as b64/);
  expect(message).toMatch(/instead of JSON number arrays/);
  expect(message).toMatch(/smaller tensors or fewer rows/);
  expect(message).toMatch(/createPrediction/);
  process.stdout.write(
    `[request-size] largest JSON-float tensor accepted (${value.length + 1} bytes an element): ` +
      `float32 [${rows}, 4] = ${rows * 4} elements, ${rows * 16} bytes; body limit ${bodyLimit} bytes\n`,
  );
}, 120_000);

it('answers a too-large multipart field with the same status and code', async () => {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: PREDICT, pad: 'x'.repeat(server.app.config.uploadMaxFieldBytes) }));
  form.append('map', '{}');
  const res = await fetch(`${server.origin}/graphql`, {
    method: 'POST',
    headers: { 'apollo-require-preflight': 'true', ...headers },
    body: form,
  });
  expect(res.status).toBe(413);
  const body = (await res.json()) as Answer['body'];
  expect(body.errors?.[0]?.extensions).toMatchObject({
    code: 'PAYLOAD_TOO_LARGE',
    maxBytes: server.app.config.uploadMaxFieldBytes,
    limit: 'UPLOAD_FIELD',
    requestId: expect.any(String) as unknown,
  });
  expect(body.errors?.[0]?.message).toMatch(/UPLOAD_MAX_FIELD_BYTES/);
});
