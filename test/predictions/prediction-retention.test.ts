// Prediction data does not live forever: the retention sweep deletes the tensors of predictions
// that ended before the cutoff and a consumer can delete a finished one's at once; the record,
// its cost and its usage record stay, so bills and analytics do not move.
import { pino } from 'pino';
import { PredictionMode, PredictionStatus, Role } from '../../src/entities/enums.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import { UsageRecord } from '../../src/entities/usage-record.entity.js';
import type { User } from '../../src/entities/user.entity.js';
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
