// Prediction data does not live forever: the retention sweep deletes the tensors of predictions
// that ended before the cutoff and a consumer can delete a finished one's at once; the record,
// its cost and its usage record stay, so bills and analytics do not move.
import { pino } from 'pino';
import { PredictionMode, PredictionStatus, Role } from '../../src/entities/enums.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import { UsageRecord } from '../../src/entities/usage-record.entity.js';
import { User } from '../../src/entities/user.entity.js';
import { PredictionRetention } from '../../src/predictions/prediction-retention.js';
import { CreatePredictionDocument } from '../generated/graphql.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { storedVersion } from './prediction-fixtures.js';

let server: TestServer;
let consumer: User;
let headers: Record<string, string>;
let modelId: string;
const X = { name: 'x', dtype: 'float32', shape: [1, 4], data: [1, 2, 3, 4] };

beforeAll(async () => {
  server = await startTestServer();
  const f = new Factory(server.app);
  consumer = await f.user();
  const model = await f.model(await f.user({ role: Role.PUBLISHER }), { pricePerRequest: '0.0100000000' });
  await storedVersion(server.app, model, 'elementwise');
  modelId = model.id;
  headers = await authHeaders(server.app, consumer);
}, 60_000);
afterAll(async () => server?.close());

const DELETE =
  'mutation($id: ID!) { deletePredictionData(id: $id) { id status cost { amount } outputs { name } dataRemovedAt } }';
const READ = 'query($id: ID!) { prediction(id: $id) { status cost { amount } outputs { name } dataRemovedAt } }';
const em = () => server.app.db.orm.em.fork();

async function finishedJob(): Promise<string> {
  const res = await server.gql(CreatePredictionDocument, { input: { modelId, inputs: [X], wait: 20 } }, headers);
  expect(res.data!.createPrediction.status).toBe('SUCCEEDED');
  return res.data!.createPrediction.id;
}

it('deletes a finished prediction’s tensors on request, keeping its record, cost and usage', async () => {
  const id = await finishedJob();
  const before = await server.gql<{ prediction: { outputs: unknown[] | null } }>(READ, { id }, headers);
  expect(before.data!.prediction.outputs).toHaveLength(1);
  const res = await server.gql<{ deletePredictionData: Record<string, unknown> }>(DELETE, { id }, headers);
  expect(res.errors).toBeUndefined();
  expect(res.data!.deletePredictionData).toMatchObject({
    status: 'SUCCEEDED',
    cost: { amount: '0.0100000000' },
    outputs: null,
    dataRemovedAt: expect.any(String),
  });
  const row = await em().findOneOrFail(Prediction, { id }, { populate: ['outputs', 'inputs'] });
  expect([row.outputs, row.inputs]).toEqual([null, null]);
  expect(await em().count(UsageRecord, { prediction: id })).toBe(1);
  // Again: nothing changes, not even the time.
  const again = await server.gql<{ deletePredictionData: { dataRemovedAt: string } }>(DELETE, { id }, headers);
  expect(again.data!.deletePredictionData.dataRemovedAt).toBe(res.data!.deletePredictionData.dataRemovedAt);
});

it('refuses a job that has not finished: cancel it first', async () => {
  const e = em();
  const finished = await e.findOneOrFail(Prediction, { user: consumer.id });
  const p = e.create(Prediction, {
    user: consumer.id,
    model: modelId,
    version: finished.version.id,
    mode: PredictionMode.ASYNC,
    status: PredictionStatus.RUNNING,
    inputs: null,
    outputs: null,
    currency: 'USD',
  });
  await e.flush();
  const res = await server.gql(DELETE, { id: p.id }, headers);
  expect(res.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
  expect(res.errors?.[0].message).toMatch(/cancel it first/);
});

it('sweeps what is past retention and leaves the rest', async () => {
  const old = await finishedJob();
  const recent = await finishedJob();
  await em().execute("update predictions set completed_at = now() - interval '2 days' where id = ?", [old]);
  const removed = await new PredictionRetention(em, pino({ level: 'silent' })).sweep(24 * 3_600_000);
  expect(removed).toBeGreaterThanOrEqual(1);
  const read = async (id: string) =>
    (
      await server.gql<{
        prediction: { outputs: unknown[] | null; dataRemovedAt: string | null; cost: { amount: string } };
      }>(READ, { id }, headers)
    ).data!.prediction;
  expect(await read(old)).toMatchObject({
    outputs: null,
    dataRemovedAt: expect.any(String),
    cost: { amount: '0.0100000000' },
  });
  expect(await read(recent)).toMatchObject({ outputs: [{ name: 'y' }], dataRemovedAt: null });
  expect(await em().count(UsageRecord, { prediction: old })).toBe(1);
  // Retention 0: nothing is removed by age.
  expect(await new PredictionRetention(em, pino({ level: 'silent' })).sweep(0)).toBe(0);
});

it('keeps a job’s data no longer than its request or its model asks, and says until when', async () => {
  const READ_EXPIRY = 'query($id: ID!) { prediction(id: $id) { completedAt dataExpiresAt outputs { name } } }';
  type Read = { prediction: { completedAt: string; dataExpiresAt: string | null; outputs: unknown[] | null } };
  const create = async (input: Record<string, unknown>) => {
    const res = await server.gql(
      CreatePredictionDocument,
      { input: { modelId, inputs: [X], wait: 20, ...input } },
      headers,
    );
    expect(res.errors).toBeUndefined();
    return res.data!.createPrediction.id;
  };
  const read = async (id: string) => (await server.gql<Read>(READ_EXPIRY, { id }, headers)).data!.prediction;
  const expiresAfter = (p: Read['prediction']) => Date.parse(p.dataExpiresAt!) - Date.parse(p.completedAt);

  // The deployment's 30 days, then a request's minute.
  const plain = await create({});
  expect(expiresAfter(await read(plain))).toBe(720 * 3_600_000);
  const short = await create({ dataRetentionSeconds: 60 });
  expect(expiresAfter(await read(short))).toBe(60_000);
  expect(
    (await server.gql(CreatePredictionDocument, { input: { modelId, inputs: [X], dataRetentionSeconds: -1 } }, headers))
      .errors?.[0]?.extensions,
  ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'dataRetentionSeconds' });

  // A minute and a half later (moved back in time), the sweep takes the short one only.
  await em().execute("update predictions set completed_at = now() - interval '90 seconds' where id in (?, ?)", [
    plain,
    short,
  ]);
  const sweep = new PredictionRetention(em, pino({ level: 'silent' }));
  expect(await sweep.sweep(720 * 3_600_000)).toBe(1);
  expect(await read(short)).toMatchObject({ outputs: null, dataExpiresAt: null });
  expect((await read(plain)).outputs).toHaveLength(1);

  // The publisher bounds the model to an hour: a request for two gets one; the bound shows.
  const [{ owner_id }] = await em().execute<{ owner_id: string }[]>('select owner_id from models where id = ?', [
    modelId,
  ]);
  const publisherHeaders = await authHeaders(server.app, await em().findOneOrFail(User, { id: owner_id }));
  const updated = await server.gql(
    'mutation($id: ID!) { updateModel(id: $id, input: { dataRetentionHours: 1 }) { dataRetentionHours } }',
    { id: modelId },
    publisherHeaders,
  );
  expect(updated.data).toEqual({ updateModel: { dataRetentionHours: 1 } });
  // Read through predict's version cache: give it its TTL.
  await new Promise((r) => setTimeout(r, 2100));
  const bounded = await create({ dataRetentionSeconds: 7200 });
  expect(expiresAfter(await read(bounded))).toBe(3_600_000);
  // With no retention of the deployment's own, a job's still applies.
  await em().execute("update predictions set completed_at = now() - interval '2 hours' where id = ?", [bounded]);
  expect(await sweep.sweep(0)).toBe(1);
});
