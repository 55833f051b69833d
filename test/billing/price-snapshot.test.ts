// A prediction is billed at the pricing in force when it was accepted: a queued job at its
// createPrediction, a synchronous one at its start. A price change applies to later requests
// only, and consumers see when the pricing took effect.
import { randomUUID } from 'node:crypto';
import { MeteringService } from '../../src/billing/metering.service.js';
import { PredictionStatus, Role } from '../../src/entities/enums.js';
import { Model } from '../../src/entities/model.entity.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import { UsageRecord } from '../../src/entities/usage-record.entity.js';
import type { User } from '../../src/entities/user.entity.js';
import {
  CreatePredictionDocument,
  ModelDetailDocument,
  PredictDocument,
  UpdateModelDocument,
} from '../generated/graphql.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { openWs, wsParams } from '../support/ws-client.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';

const X = { name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] };

let server: TestServer;
let f: Factory;
let publisher: User;

beforeAll(async () => {
  // No worker until a test starts one: jobs wait QUEUED while the price changes under them.
  server = await startTestServer({ RUN_JOBS: 'false' });
  f = new Factory(server.app);
  publisher = await f.user({ role: Role.PUBLISHER });
}, 120_000);
afterAll(async () => server?.close());

async function pricedModel(price: string, freeRequestsPerMonth = 0) {
  const model = await f.model(publisher, { pricePerRequest: price });
  await server.app.db.orm.em.fork().nativeUpdate(Model, { id: model.id }, { freeRequestsPerMonth });
  await storedVersion(server.app, model, 'elementwise');
  return model;
}

const reprice = async (model: Model, pricePerRequest: string, freeRequestsPerMonth?: number) => {
  const res = await server.gql(
    UpdateModelDocument,
    { id: model.id, input: { pricePerRequest, freeRequestsPerMonth } },
    await authHeaders(server.app, publisher),
  );
  expect(res.errors).toBeUndefined();
};

let workerStarted = false;
async function runQueuedJobs(consumer: User) {
  if (!workerStarted) server.app.startJobs({ force: true });
  workerStarted = true;
  const end = Date.now() + 60_000;
  const em = () => server.app.db.orm.em.fork();
  while (
    (await em().count(Prediction, {
      user: consumer.id,
      status: { $in: [PredictionStatus.QUEUED, PredictionStatus.RUNNING] },
    })) > 0
  ) {
    if (Date.now() > end) throw new Error('queued jobs did not finish');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const costsOf = async (consumer: User) =>
  (await server.app.db.orm.em.fork().find(UsageRecord, { user: consumer.id }, { orderBy: { occurredAt: 'asc' } })).map(
    (r) => [r.unitPrice, r.amount, r.free],
  );

describe.each(['http', 'ws'] as const)('queued jobs created over %s', (transport) => {
  it('are billed at the price and free allowance of their createPrediction, whatever the price when they run', async () => {
    // One free request a month at 0.25: the publisher then prices it at the maximum and drops the allowance.
    const model = await pricedModel('0.25', 1);
    const consumer = await f.user();
    const headers = await authHeaders(server.app, consumer);
    const ws = transport === 'ws' ? openWs(server, wsParams(headers)) : undefined;
    const create = () => {
      const vars = { input: { modelId: model.id, inputs: [X] } };
      return ws ? ws.run(CreatePredictionDocument, vars) : server.gql(CreatePredictionDocument, vars, headers);
    };
    try {
      for (let i = 0; i < 3; i++) expect((await create()).errors).toBeUndefined();
      await reprice(model, '1000', 0);
      await runQueuedJobs(consumer);
      expect(await costsOf(consumer)).toEqual([
        ['0.2500000000', '0.0000000000', true],
        ['0.2500000000', '0.2500000000', false],
        ['0.2500000000', '0.2500000000', false],
      ]);
      // A request accepted after the change pays the new price.
      expect((await create()).errors).toBeUndefined();
      await runQueuedJobs(consumer);
      expect((await costsOf(consumer)).at(-1)).toEqual(['1000.0000000000', '1000.0000000000', false]);
    } finally {
      await ws?.dispose();
    }
  });
});

describe('synchronous predictions', () => {
  it('are billed at the price read when they started, even when it changes while they run', async () => {
    const model = await pricedModel('0.25');
    const consumer = await f.user();
    const metering = new MeteringService({ blockOverdue: true });
    const em = () => server.app.db.orm.em.fork();
    // What predict does: accept (the pricing, at its start), run, then record with that pricing.
    const pricing = await metering.accept(em(), consumer.id, model.id);
    await reprice(model, '1000');
    const version = (await em().findOneOrFail(Model, model.id, { populate: ['defaultVersion'] })).defaultVersion!;
    const [recorded] = await metering.recordSucceeded(em(), [
      {
        id: randomUUID(),
        userId: consumer.id,
        apiKeyId: null,
        modelId: model.id,
        versionId: version.id,
        device: 'cpu',
        batchSize: 1,
        startedAt: pricing.acceptedAt,
        completedAt: new Date(),
        queueTimeMs: 0,
        inferenceTimeMs: 1,
        pricing,
      },
    ]);
    expect(recorded).toMatchObject({ unitPrice: '0.2500000000', cost: '0.2500000000' });
  });

  it.each(['http', 'ws'] as const)('started after a change over %s, pay the new price', async (transport) => {
    const model = await pricedModel('0.25');
    await reprice(model, '0.75');
    const consumer = await f.user();
    const headers = await authHeaders(server.app, consumer);
    const vars = { modelId: model.id, inputs: [X] };
    const ws = transport === 'ws' ? openWs(server, wsParams(headers)) : undefined;
    try {
      const res = ws ? await ws.run(PredictDocument, vars) : await server.gql(PredictDocument, vars, headers);
      expect(res.errors).toBeUndefined();
    } finally {
      await ws?.dispose();
    }
    expect(await costsOf(consumer)).toEqual([['0.7500000000', '0.7500000000', false]]);
  });
});

it('shows consumers when the current pricing took effect', async () => {
  const model = await pricedModel('0.25');
  const before = (await server.gql(ModelDetailDocument, { id: model.id })).data!.model.pricing;
  const changedAt = Date.now();
  await reprice(model, '0.30');
  const after = (await server.gql(ModelDetailDocument, { id: model.id })).data!.model.pricing;
  expect(after.pricePerRequest.amount).toBe('0.30');
  expect(new Date(after.effectiveFrom).getTime()).toBeGreaterThanOrEqual(changedAt - 5);
  expect(new Date(after.effectiveFrom).getTime()).toBeGreaterThan(new Date(before.effectiveFrom).getTime());
  // Editing anything else leaves it where it was.
  await server.gql(
    UpdateModelDocument,
    { id: model.id, input: { name: 'renamed' } },
    await authHeaders(server.app, publisher),
  );
  const renamed = (await server.gql(ModelDetailDocument, { id: model.id })).data!.model.pricing;
  expect(renamed.effectiveFrom).toBe(after.effectiveFrom);
});
