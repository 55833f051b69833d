import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiProcess, stopAll, type AppProcess } from '../support/app-processes.js';

/**
 * The embedded default as people run it: one `src/main.ts` that lives long, goes idle (so the
 * pool closes its connections to the single PGlite session and opens new ones), then takes
 * concurrent traffic — sync and queued predictions, each metered through the prepared statements
 * of src/db/prepared-statement.ts. On PGlite every pool connection is one session, so a named
 * statement outlives the connection that prepared it; every request must still succeed.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'mm-embedded-idle-'));
const IDLE_MS = 300;
let api: AppProcess;

beforeAll(async () => {
  api = await startApiProcess({
    DATA_DIR: dataDir,
    NODE_ENV: 'development',
    SEED_ON_START: 'false',
    DATABASE_POOL_IDLE_MS: String(IDLE_MS),
    INFERENCE_WORKERS: '1',
  });
}, 120_000);

afterAll(async () => {
  await stopAll();
  rmSync(dataDir, { recursive: true, force: true });
});

type Body<T> = { data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[] };

/** "CODE message" of a response's first error. */
const firstError = (b: Body<unknown>) => `${String(b.errors?.[0]?.extensions?.code)} ${b.errors?.[0]?.message}`;

async function gql<T>(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Body<T>> {
  const res = await fetch(`${api.origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as Body<T>;
}

async function ok<T>(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  const body = await gql<T>(query, variables, token);
  if (body.errors?.length || !body.data) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function register(role: 'PUBLISHER' | 'CONSUMER'): Promise<string> {
  const { register } = await ok<{ register: { accessToken: string } }>(
    'mutation($input: RegisterInput!) { register(input: $input) { accessToken } }',
    {
      input: {
        email: `${role.toLowerCase()}-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`,
        displayName: role,
        password: 'a long enough passphrase',
        role,
      },
    },
  );
  return register.accessToken;
}

/** A priced model (no free allowance, so every prediction runs the whole metering statement). */
async function publishElementwiseModel(): Promise<string> {
  const token = await register('PUBLISHER');
  const { createModel } = await ok<{ createModel: { id: string } }>(
    'mutation($input: CreateModelInput!) { createModel(input: $input) { id } }',
    {
      input: {
        name: 'Idle test',
        slug: `idle-${Date.now()}`,
        description: 'y = relu(2x + 1)',
        task: 'tabular-regression',
        pricePerRequest: '0.001',
        freeRequestsPerMonth: 0,
      },
    },
    token,
  );
  const form = new FormData();
  form.append(
    'operations',
    JSON.stringify({
      query:
        'mutation($modelId: ID!, $version: String!, $file: Upload!) { uploadModelVersion(modelId: $modelId, version: $version, file: $file) { id } }',
      variables: { modelId: createModel.id, version: '1.0.0', file: null },
    }),
  );
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([readFileSync('test/fixtures/models/elementwise.onnx')]), 'elementwise.onnx');
  const res = await fetch(`${api.origin}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' },
    body: form,
  });
  const uploaded = (await res.json()) as Body<unknown>;
  if (uploaded.errors) throw new Error(JSON.stringify(uploaded.errors));
  const end = Date.now() + 60_000;
  for (;;) {
    const { model } = await ok<{ model: { defaultVersion: { status: string } | null } }>(
      'query($id: ID!) { model(id: $id) { defaultVersion { status } } }',
      { id: createModel.id },
    );
    if (model.defaultVersion?.status === 'READY') return createModel.id;
    if (Date.now() > end) throw new Error('the uploaded version never became READY');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const PREDICT =
  'mutation($m: ID!, $i: [TensorInput!]!) { predict(modelId: $m, inputs: $i) { outputs { data } prediction { status } } }';
const CREATE = 'mutation($input: CreatePredictionInput!) { createPrediction(input: $input) { id } }';
const INPUTS = [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] }];

async function waitSucceeded(id: string, token: string): Promise<number[]> {
  const end = Date.now() + 60_000;
  for (;;) {
    const { prediction } = await ok<{ prediction: { status: string; outputs: { data: number[] }[] | null } }>(
      'query($id: ID!) { prediction(id: $id) { status outputs { data } } }',
      { id },
      token,
    );
    if (prediction.status === 'SUCCEEDED') return prediction.outputs?.[0]?.data ?? [];
    if (Date.now() > end || ['FAILED', 'CANCELED'].includes(prediction.status)) {
      throw new Error(`queued prediction ${id} ended ${prediction.status}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('serves concurrent sync and queued predictions after idling past the pool idle timeout, with none failing', async () => {
  const modelId = await publishElementwiseModel();
  const consumers = await Promise.all(Array.from({ length: 16 }, () => register('CONSUMER')));
  // One prediction, then idle: the pool closes its connections and opens new ones afterwards.
  expect(
    (await ok<{ predict: { prediction: { status: string } } }>(PREDICT, { m: modelId, i: INPUTS }, consumers[0]))
      .predict.prediction.status,
  ).toBe('SUCCEEDED');
  let failures: string[] = [];
  let predictions = 1;
  for (let round = 0; round < 3; round++) {
    await new Promise((r) => setTimeout(r, IDLE_MS * 4));
    const results = await Promise.all(
      consumers.flatMap((token) => [
        gql<{ predict: { outputs: { data: number[] }[] } }>(PREDICT, { m: modelId, i: INPUTS }, token).then((b) =>
          b.errors ? `predict: ${firstError(b)}` : b.data?.predict.outputs[0]?.data.join(','),
        ),
        gql<{ createPrediction: { id: string } }>(CREATE, { input: { modelId, inputs: INPUTS } }, token).then((b) =>
          b.errors
            ? `createPrediction: ${firstError(b)}`
            : waitSucceeded(b.data!.createPrediction.id, token).then((d) => d.join(',')),
        ),
      ]),
    );
    predictions += results.length;
    failures = failures.concat(results.filter((r) => r !== '0,1,3,5').map(String));
  }
  expect(failures).toEqual([]);
  // Every one of them was metered once.
  const usage = await Promise.all(
    consumers.map((token) => ok<{ usage: { requests: number } }>('{ usage { requests } }', {}, token)),
  );
  expect(usage.reduce((n, u) => n + u.usage.requests, 0)).toBe(predictions);
  // No masked error was logged either (a prepared-statement clash is logged at level 50).
  expect(api.logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
}, 180_000);
