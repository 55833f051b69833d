import { randomUUID } from 'node:crypto';
import { MeteringService } from '../../src/billing/metering.service.js';
import { PredictionMode, PredictionStatus } from '../../src/entities/enums.js';
import { Model } from '../../src/entities/model.entity.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import { UsageRecord } from '../../src/entities/usage-record.entity.js';
import { AppError } from '../../src/shared/errors.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { BillingFixtures } from './billing-fixtures.js';

describe('metering', () => {
  let server: TestServer;
  let fx: BillingFixtures;
  const metering = new MeteringService({ blockOverdue: true });

  beforeAll(async () => {
    server = await startTestServer();
    fx = new BillingFixtures(server.app);
  });
  afterAll(() => server?.close());

  it('uses the free allowance first, then charges the price snapshotted at run time', async () => {
    const consumer = await fx.consumer();
    const { model, version } = await fx.pricedModel(await fx.publisher(), {
      pricePerRequest: '0.0015',
      freeRequestsPerMonth: 2,
    });
    const at = new Date('2026-03-10T12:00:00Z');
    const r1 = await fx.meteredPrediction(metering, consumer, model, version, at);
    const r2 = await fx.meteredPrediction(metering, consumer, model, version, at);
    const r3 = await fx.meteredPrediction(metering, consumer, model, version, at);
    await fx.setPrice(model, '0.25');
    const r4 = await fx.meteredPrediction(metering, consumer, model, version, at);

    expect([r1, r2, r3, r4].map((r) => r.record.free)).toEqual([true, true, false, false]);
    const stored = await fx.em().find(Prediction, { id: [r1, r2, r3, r4].map((r) => r.prediction.id) });
    const byId = new Map(stored.map((p) => [p.id, p]));
    const cost = (r: typeof r1) => [byId.get(r.prediction.id)?.unitPrice, byId.get(r.prediction.id)?.cost];
    expect(cost(r1)).toEqual(['0.0015000000', '0.0000000000']);
    expect(cost(r3)).toEqual(['0.0015000000', '0.0015000000']);
    expect(cost(r4)).toEqual(['0.2500000000', '0.2500000000']);
    expect(r1.record.periodStart).toBe('2026-03-01');

    // A new UTC month has a new allowance.
    const april = await fx.meteredPrediction(metering, consumer, model, version, new Date('2026-04-01T00:00:00Z'));
    expect(april.record.free).toBe(true);
  });

  it('meters a retried prediction once', async () => {
    const consumer = await fx.consumer();
    const { model, version } = await fx.pricedModel(await fx.publisher(), {
      pricePerRequest: '0.01',
      freeRequestsPerMonth: 0,
    });
    const p = await fx.runningPrediction(consumer, model, version);
    const first = await fx.succeed(metering, p.id);
    // Sequential retry, then concurrent retries.
    const again = await fx.succeed(metering, p.id);
    const racing = await Promise.all(Array.from({ length: 5 }, () => fx.succeed(metering, p.id)));
    for (const r of [again, ...racing]) expect(r.record.id).toBe(first.record.id);
    expect(await fx.em().count(UsageRecord, { prediction: p.id })).toBe(1);
    const [counter] = await fx
      .em()
      .execute<{ requests: number; amount: string }[]>(
        'select requests::int as requests, amount::text from usage_counters where user_id = ? and model_id = ?',
        [consumer.id, model.id],
      );
    expect(counter).toEqual({ requests: 1, amount: '0.0100000000' });
  });

  it('gives exactly 1,000 records and the exact amount for 1,000 concurrent predictions across the free tier', async () => {
    const consumer = await fx.consumer();
    const { model, version } = await fx.pricedModel(await fx.publisher(), {
      pricePerRequest: '0.0003',
      freeRequestsPerMonth: 250,
    });
    const at = new Date('2026-05-15T08:00:00Z');
    const predictions = await Promise.all(
      Array.from({ length: 1000 }, () => fx.runningPrediction(consumer, model, version)),
    );
    await Promise.all(predictions.map((p) => fx.succeed(metering, p.id, at)));
    // Each one retried once more, concurrently: nothing changes.
    await Promise.all(predictions.slice(0, 200).map((p) => fx.succeed(metering, p.id, at)));

    const [totals] = await fx.em().execute<{ records: string; free: string; amount: string; cost: string }[]>(
      `select count(*) as records, count(*) filter (where free) as free, sum(amount)::text as amount,
        (select sum(cost)::text from predictions where user_id = ? and status = ?) as cost
       from usage_records where user_id = ?`,
      [consumer.id, PredictionStatus.SUCCEEDED, consumer.id],
    );
    expect(totals).toEqual({ records: '1000', free: '250', amount: '0.2250000000', cost: '0.2250000000' });
  }, 120_000);

  it('refuses a consumer at the monthly spending cap, counting what is still free', async () => {
    const consumer = await fx.consumer();
    const { model, version } = await fx.pricedModel(await fx.publisher(), {
      pricePerRequest: '0.40',
      freeRequestsPerMonth: 1,
    });
    await fx.setSpendCap(consumer, '1.00');
    const m = await fx.em().findOneOrFail(Model, model.id);
    await metering.accept(fx.em(), consumer.id, m.id);
    await fx.meteredPrediction(metering, consumer, model, version); // free
    await fx.meteredPrediction(metering, consumer, model, version); // 0.40
    await fx.meteredPrediction(metering, consumer, model, version); // 0.80
    // 0.80 + 0.40 would pass 1.00.
    const err = await metering.accept(fx.em(), consumer.id, m.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { reason: 'SPEND_CAP', cap: '1.00', spent: '0.80', reserved: '0.00' },
    });
    await fx.setSpendCap(consumer, null);
    await expect(metering.accept(fx.em(), consumer.id, m.id)).resolves.toMatchObject({ unitPrice: '0.40' });
  });

  describe('recordSucceeded (group commit of synchronous predictions)', () => {
    const runOf = (
      consumerId: string,
      modelId: string,
      versionId: string,
      completedAt: Date,
      pricing = { unitPrice: '0.0015', freeAllowance: 3 },
    ) => ({
      id: randomUUID(),
      userId: consumerId,
      apiKeyId: null,
      modelId,
      versionId,
      device: 'cpu',
      batchSize: 1,
      startedAt: new Date(completedAt.getTime() - 5),
      completedAt,
      queueTimeMs: 0.5,
      inferenceTimeMs: 1.25,
      pricing: {
        ...pricing,
        currency: 'USD',
        capped: false,
        acceptedAt: completedAt,
        periodStart: completedAt.toISOString().slice(0, 8) + '01',
      },
    });

    it('numbers a group in arrival order: the free allowance first, then the price, as one by one', async () => {
      const consumer = await fx.consumer();
      const other = await fx.consumer();
      const { model, version } = await fx.pricedModel(await fx.publisher(), {
        pricePerRequest: '0.0015',
        freeRequestsPerMonth: 3,
      });
      const at = new Date('2026-05-10T12:00:00Z');
      // One request already counted this month by the job worker's statement: the group continues at 2.
      await fx.meteredPrediction(metering, consumer, model, version, at);
      const runs = [
        runOf(consumer.id, model.id, version.id, at),
        runOf(other.id, model.id, version.id, at),
        runOf(consumer.id, model.id, version.id, at),
        runOf(consumer.id, model.id, version.id, at),
        // Next month: a new allowance, whatever its place in the group.
        runOf(consumer.id, model.id, version.id, new Date('2026-06-01T00:00:00Z')),
      ];
      const rows = await metering.recordSucceeded(fx.em(), runs);
      expect(rows.map((r) => r.id).sort()).toEqual(runs.map((r) => r.id).sort());

      const em = fx.em();
      const records = await em.find(UsageRecord, { prediction: runs.map((r) => r.id) });
      const byPrediction = new Map(records.map((r) => [r.prediction.id, r]));
      expect(runs.map((r) => byPrediction.get(r.id)?.free)).toEqual([true, true, true, false, true]);
      expect(runs.map((r) => byPrediction.get(r.id)?.amount)).toEqual([
        '0.0000000000',
        '0.0000000000',
        '0.0000000000',
        '0.0015000000',
        '0.0000000000',
      ]);
      expect(records.every((r) => r.publisher.id === model.owner.id && r.unitPrice === '0.0015000000')).toBe(true);
      expect(byPrediction.get(runs[4].id)?.periodStart).toBe('2026-06-01');

      const predictions = await em.find(Prediction, { id: runs.map((r) => r.id) });
      expect(new Set(predictions.map((p) => `${p.status} ${p.mode}`))).toEqual(
        new Set([`${PredictionStatus.SUCCEEDED} ${PredictionMode.SYNC}`]),
      );
      expect(predictions.find((p) => p.id === runs[3].id)?.cost).toBe('0.0015000000');

      const counters = await em
        .getConnection()
        .execute<{ user_id: string; period_start: string; requests: number; amount: string }[]>(
          `select user_id, period_start::text, requests::int as requests, amount::text from usage_counters where model_id = ? order by user_id, period_start`,
          [model.id],
        );
      const counter = (userId: string, period: string) =>
        counters.find((c) => c.user_id === userId && c.period_start === period);
      expect(counter(consumer.id, '2026-05-01')).toMatchObject({ requests: 4, amount: '0.0015000000' });
      expect(counter(consumer.id, '2026-06-01')).toMatchObject({ requests: 1, amount: '0.0000000000' });
      expect(counter(other.id, '2026-05-01')).toMatchObject({ requests: 1, amount: '0.0000000000' });
      // The queued one, then the group's five runs added by one update.
      expect((await em.findOneOrFail(Model, model.id)).predictionCount).toBe(6);
    });

    it('leaves out a run whose model does not exist and writes the others', async () => {
      const consumer = await fx.consumer();
      const { model, version } = await fx.pricedModel(await fx.publisher(), {
        pricePerRequest: '0',
        freeRequestsPerMonth: 0,
      });
      const good = runOf(consumer.id, model.id, version.id, new Date());
      const orphan = runOf(consumer.id, randomUUID(), version.id, new Date());
      const rows = await metering.recordSucceeded(fx.em(), [good, orphan]);
      expect(rows.map((r) => r.id)).toEqual([good.id]);
      expect(await fx.em().count(UsageRecord, { prediction: [good.id, orphan.id] })).toBe(1);
    });
  });
});
