// Abuse corpus, part 2: invalid tensors for `predict` and `createPrediction` (dtypes, shapes,
// values, base64, names, hostile webhook targets) and corrupt or hostile ONNX uploads
// (truncated, other formats, huge declared dims, external data outside storage). A refused
// prediction writes nothing and bills nothing; a run one writes exactly one prediction and one
// usage record; a refused model ends FAILED with a reason that names no server path, and its
// file is gone from storage.
import type { Model } from '../../src/entities/model.entity.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { AbuseHarness, filesUnder, inBatches, leakIn, Tally } from './support/abuse-harness.js';
import { multipartBody } from './support/abuse-multipart.js';
import { hostileModels } from './support/abuse-onnx.js';
import { allDtypesCases, elementwiseCases, type TensorCase } from './support/abuse-tensors.js';

const h = new AbuseHarness();
let elementwise: Model;
let allDtypes: Model;

const PREDICT =
  'mutation P($modelId: ID!, $inputs: [TensorInput!]!) { predict(modelId: $modelId, inputs: $inputs) { outputs { name shape } prediction { id status } } }';
const CREATE = 'mutation C($input: CreatePredictionInput!) { createPrediction(input: $input) { id status } }';

beforeAll(async () => {
  // Admission budgets small enough that the corpus's endless and memory-hungry models are
  // refused in seconds, and without touching gigabytes on a shared machine.
  await h.start({
    INFERENCE_ADMISSION_TIMEOUT_MS: '2000',
    INFERENCE_ADMISSION_MAX_MEMORY_MB: '512',
    INFERENCE_WORKER_MAX_MEMORY_MB: '1024',
    INFERENCE_TIMEOUT_MS: '3000',
  });
  elementwise = await h.f.model(h.fx.publisher, { pricePerRequest: '0.001' });
  await storedVersion(h.server.app, elementwise, 'elementwise', { version: '1.0.0' });
  allDtypes = await h.f.model(h.fx.publisher, { pricePerRequest: '0.001' });
  await storedVersion(h.server.app, allDtypes, 'all-dtypes', { version: '1.0.0' });
  await h.alive();
}, 120_000);

afterAll(async () => h.close());

function expectClean(tally: Tally) {
  tally.report(tally.problems.length ? `problems: ${tally.problems.length}` : undefined);
  expect(tally.problems).toEqual([]);
}

const REFUSALS = new Set(['BAD_USER_INPUT', 'PAYLOAD_TOO_LARGE']);

async function runTensorCases(tally: Tally, model: Model, cases: TensorCase[]) {
  const before = await h.counts();
  let ran = 0;
  await inBatches(cases, 4, async (c) => {
    const res = await h.gql(PREDICT, { modelId: model.id, inputs: c.inputs }, h.fx.consumerAuth);
    h.check(tally, c.label, res);
    if (res.outcome === 'OK') ran++;
    else if (!REFUSALS.has(res.outcome) && res.outcome !== 'GRAPHQL_VALIDATION_FAILED') {
      tally.problem(`${c.label}: ${res.outcome} ${res.body?.errors?.[0]?.message}`);
    }
    if (c.valid === true && res.outcome !== 'OK')
      tally.problem(`${c.label}: refused a valid input: ${res.text.slice(0, 200)}`);
    if (c.valid === false && res.outcome === 'OK') tally.problem(`${c.label}: ran an invalid input`);
  });
  const after = await h.counts();
  // Exactly the runs were recorded and metered: refusals wrote nothing.
  expect({
    predictions: after.predictions - before.predictions,
    usage: after.usage_records - before.usage_records,
  }).toEqual({ predictions: ran, usage: ran });
}

it('invalid tensors for predict (elementwise): refused with a code, nothing recorded or billed', async () => {
  const tally = new Tally('invalid tensor (dtype, shape, values, b64, names)');
  await runTensorCases(tally, elementwise, elementwiseCases());
  await h.alive();
  expectClean(tally);
});

it('every dtype at and past its limits (all-dtypes): exact refusals, nothing recorded for them', async () => {
  const tally = new Tally('tensor element out of its dtype');
  await runTensorCases(tally, allDtypes, allDtypesCases());
  await h.alive();
  expectClean(tally);
});

it('createPrediction with bad tensors, hostile webhook targets and keys: refused before anything is queued', async () => {
  const tally = new Tally('createPrediction: bad tensors, SSRF webhook targets, bad keys');
  const before = await h.counts();
  const x = { name: 'x', dtype: 'float32', shape: [1, 4], data: [0, 1, 2, 3] };
  const inputs: Record<string, unknown>[] = [];
  for (const c of elementwiseCases()
    .filter((c) => c.valid === false)
    .slice(0, 30)) {
    inputs.push({ modelId: elementwise.id, inputs: c.inputs });
  }
  for (const webhookUrl of [
    'http://127.0.0.1:4000/hook',
    'http://localhost/hook',
    'http://[::1]/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/',
    'http://192.168.1.1/',
    'http://0.0.0.0/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://127.1/',
    'http://[::ffff:127.0.0.1]/',
    'file:///etc/passwd',
    'gopher://127.0.0.1:6379/_FLUSHALL',
    'javascript:alert(1)',
    'ftp://example.com/',
    'http://user:pass@example.com/',
    'not a url',
    `https://example.com/${'a'.repeat(3000)}`,
  ]) {
    inputs.push({ modelId: elementwise.id, inputs: [x], webhookUrl });
  }
  for (const idempotencyKey of ['k'.repeat(201)]) inputs.push({ modelId: elementwise.id, inputs: [x], idempotencyKey });
  for (const deadline of ['yesterday', '1970-01-01T00:00:00Z', '+275760-09-13T00:00:00.001Z']) {
    inputs.push({ modelId: elementwise.id, inputs: [x], deadline });
  }
  inputs.push({ modelId: elementwise.id, inputs: [x], webhookEvents: ['nope'] });
  await inBatches(inputs, 4, async (input, i) => {
    const res = await h.gql(CREATE, { input }, h.fx.consumerAuth);
    h.check(tally, `createPrediction #${i} ${JSON.stringify(input).slice(0, 120)}`, res);
    if (res.outcome === 'OK') tally.problem(`createPrediction #${i}: queued ${JSON.stringify(input).slice(0, 200)}`);
  });
  const after = await h.counts();
  expectClean(tally);
  expect(after.predictions).toBe(before.predictions);
  await h.alive();
});

it('corrupt and hostile ONNX uploads: FAILED with a reason naming no server path, files removed, the rest READY', async () => {
  const tally = new Tally('corrupt or hostile ONNX upload');
  const target = await h.f.model(h.fx.publisher);
  const corpus = hostileModels();
  const ids: { label: string; id: string; loads?: boolean; tooExpensive?: boolean }[] = [];
  // One at a time: versions of one model must increase.
  for (const [i, m] of corpus.entries()) {
    const { boundary, body } = multipartBody(
      { modelId: target.id, version: `1.0.${i}` },
      { bytes: m.bytes, filename: `${i}.onnx` },
    );
    const res = await h.send({
      headers: {
        'apollo-require-preflight': 'true',
        ...h.fx.publisherAuth,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      body,
    });
    h.check(tally, m.label, res);
    const v = (res.body?.data as { uploadModelVersion?: { id: string } } | undefined)?.uploadModelVersion;
    if (v) ids.push({ label: m.label, id: v.id, loads: m.loads, tooExpensive: m.tooExpensive });
    else if (res.outcome !== 'BAD_USER_INPUT') tally.problem(`${m.label}: upload answered ${res.outcome}`);
  }
  for (const { id } of ids) await h.server.app.services.versions.whenValidated(id);
  const rows = await h.server.app.db.orm.em
    .fork()
    .getConnection()
    .execute<
      { id: string; status: string; status_reason: string | null; status_code: string | null; storage_key: string }[]
    >('select id, status, status_reason, status_code, storage_key from model_versions where model_id = ?', [target.id]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const stored = new Set(filesUnder(h.server.app.config.modelStorageDir));
  for (const { label, id, loads, tooExpensive } of ids) {
    const row = byId.get(id)!;
    const status = row.status;
    tally.outcomes[`version ${status}`] = (tally.outcomes[`version ${status}`] ?? 0) + 1;
    if (loads && status !== 'READY') tally.problem(`${label}: ${status} ${row.status_reason}`);
    if (!loads && status !== 'FAILED') tally.problem(`${label}: ${status}, expected FAILED`);
    if (tooExpensive && row.status_code !== 'MODEL_TOO_EXPENSIVE') {
      tally.problem(`${label}: ${row.status_code} ${row.status_reason}, expected MODEL_TOO_EXPENSIVE`);
    }
    if ((row.status_reason ?? '').length > 500)
      tally.problem(`${label}: a reason of ${row.status_reason!.length} characters`);
    const leak = leakIn(row.status_reason ?? '');
    if (leak) tally.problem(`${label}: reason ${leak}`);
    const kept = [...stored].some((p) => p.endsWith(row.storage_key));
    if (status === 'FAILED' && kept) tally.problem(`${label}: FAILED but its file is still stored`);
  }
  // Reasons reach clients through the API too.
  const api = await h.gql(
    'query($id: ID!) { model(id: $id) { versions(first: 100) { edges { node { status statusReason } } } } }',
    { id: target.id },
    h.fx.publisherAuth,
  );
  h.check(tally, 'versions with their reasons', api);
  // The model with a 2^62-element input: no request can fill it; asking is PAYLOAD_TOO_LARGE or BAD_USER_INPUT.
  const huge = ids.find((i) => i.label.startsWith('input declaring'));
  if (huge) {
    await h.gql('mutation($v: ID!) { setDefaultVersion(versionId: $v) { id } }', { v: huge.id }, h.fx.publisherAuth);
    for (const shape of [
      [2 ** 31 - 1, 2 ** 31 - 1],
      [1, 1],
      [4096, 4096],
    ]) {
      const res = await h.gql(
        PREDICT,
        { modelId: target.id, inputs: [{ name: 'x', dtype: 'float32', shape, data: [0] }] },
        h.fx.consumerAuth,
      );
      h.check(tally, `predict on the huge-input model ${shape.join('x')}`, res);
      if (!REFUSALS.has(res.outcome)) tally.problem(`predict ${shape.join('x')}: ${res.outcome}`);
    }
  }
  // Admitted models that cost without bound on some inputs: the request fails with a final code,
  // its worker is killed or replaced, and the server answers the next request.
  for (const [label, inputs, code, reason] of [
    [
      'a Loop whose trip count is an input',
      [
        { name: 'x', dtype: 'float32', shape: [1], data: [0] },
        { name: 'n', dtype: 'int64', shape: [1], data: ['1000000000000'] },
      ],
      'SERVICE_UNAVAILABLE',
      'TIMEOUT',
    ],
    [
      'an allocation sized by an input',
      [{ name: 'shape', dtype: 'int64', shape: [1], data: [2 ** 30] }],
      'BAD_USER_INPUT',
      'MEMORY_LIMIT',
    ],
  ] as const) {
    const v = ids.find((i) => i.label === label);
    if (!v) {
      tally.problem(`${label}: not uploaded`);
      continue;
    }
    await h.gql('mutation($v: ID!) { setDefaultVersion(versionId: $v) { id } }', { v: v.id }, h.fx.publisherAuth);
    const res = await h.gql(PREDICT, { modelId: target.id, inputs }, h.fx.consumerAuth);
    h.check(tally, `predict on ${label}`, res, { allow5xx: [503] });
    const ext = res.body?.errors?.[0]?.extensions;
    if (res.outcome !== code || ext?.reason !== reason || ext?.retryable !== false) {
      tally.problem(`predict on ${label}: ${res.text.slice(0, 300)}`);
    }
    await h.alive();
  }
  expect(h.leftovers()).toEqual([]);
  await h.alive();
  expectClean(tally);
});

it('a publisher uploading to another publisher’s model is refused before a byte is stored', async () => {
  const tally = new Tally('upload to another publisher’s model');
  const theirs = await h.f.model(h.fx.otherPublisher);
  const before = await h.counts();
  const storedBefore = filesUnder(h.server.app.config.modelStorageDir).length;
  for (const [label, auth] of [
    ['publisher', h.fx.publisherAuth],
    ['consumer', h.fx.consumerAuth],
    ['anonymous', {}],
  ] as const) {
    const { boundary, body } = multipartBody(
      { modelId: theirs.id, version: '1.0.0' },
      { bytes: new Uint8Array(4096).fill(3), filename: 'x.onnx' },
    );
    const res = await h.send({
      headers: {
        'apollo-require-preflight': 'true',
        ...auth,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      body,
    });
    h.check(tally, label, res);
    if (!['FORBIDDEN', 'NOT_FOUND', 'UNAUTHENTICATED'].includes(res.outcome)) tally.problem(`${label}: ${res.outcome}`);
  }
  expect((await h.counts()).model_versions).toBe(before.model_versions);
  expect(filesUnder(h.server.app.config.modelStorageDir).length).toBe(storedBefore);
  expect(h.leftovers()).toEqual([]);
  expectClean(tally);
});
