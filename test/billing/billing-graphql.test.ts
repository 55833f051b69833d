import { MeteringService } from '../../src/billing/metering.service.js';
import { PredictionMode, PredictionStatus, Role } from '../../src/entities/enums.js';
import { Model } from '../../src/entities/model.entity.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import { User } from '../../src/entities/user.entity.js';
import {
  CloseBillingPeriodDocument,
  EarningsDocument,
  InvoiceDocument,
  InvoicesDocument,
  ModelAnalyticsDocument,
  UsageDocument,
} from '../generated/graphql.js';
import { apiKeyFor, apiKeyHeaders, authHeaders } from '../support/auth.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { BillingFixtures } from './billing-fixtures.js';

describe('billing over GraphQL', () => {
  let server: TestServer;
  let fx: BillingFixtures;
  const metering = new MeteringService({ blockOverdue: true });
  let admin: User;
  let consumer: User;
  let otherConsumer: User;
  let publisher: User;
  let otherPublisher: User;
  let vision: { model: Model };
  const feb = (day: number, hour = 12) => new Date(Date.UTC(2026, 1, day, hour));
  const range = { from: '2026-02-01T00:00:00Z', to: '2026-03-01T00:00:00Z' };
  const headers = (user: User) => authHeaders(server.app, user);

  beforeAll(async () => {
    server = await startTestServer({ PLATFORM_FEE_PERCENT: '12.5' });
    fx = new BillingFixtures(server.app);
    admin = await fx.factory.user({ role: Role.ADMIN });
    consumer = await fx.consumer();
    otherConsumer = await fx.consumer();
    publisher = await fx.publisher();
    otherPublisher = await fx.publisher();
    const v = await fx.pricedModel(publisher, { pricePerRequest: '0.0015', freeRequestsPerMonth: 1 });
    const t = await fx.pricedModel(publisher, { pricePerRequest: '0.20', freeRequestsPerMonth: 0 });
    vision = v;
    // Consumer: vision ×3 on Feb 2 (1 free), text ×2 on Feb 3. Other consumer: text ×1.
    for (let i = 0; i < 3; i++) await fx.meteredPrediction(metering, consumer, v.model, v.version, feb(2));
    for (let i = 0; i < 2; i++) await fx.meteredPrediction(metering, consumer, t.model, t.version, feb(3));
    await fx.meteredPrediction(metering, otherConsumer, t.model, t.version, feb(4));
    // Analytics rows for the vision model: 100 succeeded (1..100 ms) and 2 failed, in February.
    const em = fx.em();
    for (let ms = 1; ms <= 100; ms++) {
      em.create(Prediction, {
        user: em.getReference(User, otherConsumer.id),
        model: em.getReference(Model, v.model.id),
        version: v.version.id,
        mode: PredictionMode.SYNC,
        status: PredictionStatus.SUCCEEDED,
        inferenceTimeMs: ms,
        inputs: null,
        outputs: null,
        createdAt: feb(10 + (ms % 2)),
      });
    }
    for (const code of ['INVALID_INPUT', 'TIMEOUT']) {
      em.create(Prediction, {
        user: em.getReference(User, otherConsumer.id),
        model: em.getReference(Model, v.model.id),
        version: v.version.id,
        mode: PredictionMode.SYNC,
        status: PredictionStatus.FAILED,
        errorCode: code,
        errorMessage: `failed: ${code}`,
        inputs: null,
        outputs: null,
        createdAt: feb(12),
      });
    }
    await em.flush();
  });
  afterAll(() => server?.close());

  it('gives a consumer their usage, exact, by model and by day', async () => {
    const res = await server.gql(UsageDocument, range, await headers(consumer));
    expect(res.errors).toBeUndefined();
    const usage = res.data!.usage;
    expect(usage).toMatchObject({
      requests: 5,
      billableRequests: 4,
      // 2 × 0.0015 + 2 × 0.20
      amount: { amount: '0.403', currency: 'USD' },
    });
    expect(usage.byModel.map((m) => [m.requests, m.billableRequests, m.amount.amount])).toEqual([
      [2, 2, '0.40'],
      [3, 2, '0.003'],
    ]);
    expect(usage.byDay).toEqual([
      { day: '2026-02-02', requests: 3, billableRequests: 2, amount: { amount: '0.003' } },
      { day: '2026-02-03', requests: 2, billableRequests: 2, amount: { amount: '0.40' } },
    ]);
    const byModelOnly = await server.gql(UsageDocument, { ...range, groupBy: 'MODEL' }, await headers(consumer));
    expect(byModelOnly.data!.usage.byDay).toEqual([]);
  });

  it('requires sign-in, and `billing:read` on API keys', async () => {
    const anonymous = await server.gql(UsageDocument, range);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const predictOnly = await apiKeyFor(server.app, consumer, ['predict']);
    const refused = await server.gql(UsageDocument, range, apiKeyHeaders(predictOnly));
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const billing = await apiKeyFor(server.app, consumer, ['billing:read']);
    const allowed = await server.gql(UsageDocument, range, apiKeyHeaders(billing));
    expect(allowed.data?.usage.requests).toBe(5);
  });

  it('refuses a bad range with BAD_USER_INPUT', async () => {
    const res = await server.gql(UsageDocument, { from: range.to, to: range.from }, await headers(consumer));
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it("gives a publisher their models' earnings net of the platform fee", async () => {
    const res = await server.gql(EarningsDocument, range, await headers(publisher));
    expect(res.errors).toBeUndefined();
    const e = res.data!.earnings;
    // Text: 3 × 0.20 = 0.60, fee 12.5% = 0.075. Vision: 2 × 0.0015 = 0.003, fee 0.000375.
    expect(e).toMatchObject({
      platformFeePercent: '12.50',
      gross: { amount: '0.603', currency: 'USD' },
      platformFee: { amount: '0.075375' },
      net: { amount: '0.527625' },
    });
    expect(e.byModel.map((m) => [m.requests, m.gross.amount, m.platformFee.amount, m.net.amount])).toEqual([
      [3, '0.60', '0.075', '0.525'],
      [3, '0.003', '0.000375', '0.002625'],
    ]);
    const none = await server.gql(EarningsDocument, range, await headers(otherPublisher));
    expect(none.data!.earnings.byModel).toEqual([]);
    const consumerTry = await server.gql(EarningsDocument, range, await headers(consumer));
    expect(consumerTry.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('gives owners and admins model analytics computed in SQL', async () => {
    const vars = { modelId: vision.model.id, ...range };
    const res = await server.gql(ModelAnalyticsDocument, vars, await headers(publisher));
    expect(res.errors).toBeUndefined();
    const a = res.data!.modelAnalytics;
    // Created in February: 100 succeeded (1..100 ms) and 2 failed (the metered ones were created
    // today). percentile_cont interpolates: p50 of 1..100 is 50.5, p95 95.05, p99 99.01.
    expect(a).toMatchObject({ predictions: 102, succeeded: 100, failed: 2 });
    expect(a.successRate).toBeCloseTo(100 / 102, 10);
    expect(a.latencyMs.p50).toBeCloseTo(50.5, 9);
    expect(a.latencyMs.p95).toBeCloseTo(95.05, 9);
    expect(a.latencyMs.p99).toBeCloseTo(99.01, 9);
    expect(a.recentErrors.map((e) => e.code).sort()).toEqual(['INVALID_INPUT', 'TIMEOUT']);
    expect(a.daily.map((d) => [d.day, d.predictions, d.succeeded, d.failed])).toEqual([
      ['2026-02-10', 50, 50, 0],
      ['2026-02-11', 50, 50, 0],
      ['2026-02-12', 2, 0, 2],
    ]);
    const stranger = await server.gql(ModelAnalyticsDocument, vars, await headers(otherPublisher));
    expect(stranger.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const asAdmin = await server.gql(ModelAnalyticsDocument, vars, await headers(admin));
    expect(asAdmin.data?.modelAnalytics.predictions).toBe(102);
  });

  it('lets admins close a period; consumers read only their own invoices', async () => {
    const denied = await server.gql(CloseBillingPeriodDocument, { periodStart: range.from }, await headers(consumer));
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const closed = await server.gql(CloseBillingPeriodDocument, { periodStart: range.from }, await headers(admin));
    expect(closed.errors).toBeUndefined();
    expect(closed.data!.closeBillingPeriod).toHaveLength(2);

    const mine = await server.gql(InvoicesDocument, { first: 10 }, await headers(consumer));
    expect(mine.data!.invoices.totalCount).toBe(1);
    const invoice = mine.data!.invoices.edges[0].node;
    expect(invoice).toMatchObject({
      number: expect.stringMatching(/^MM-2026-\d{6}$/) as string,
      periodStart: '2026-02-01',
      periodEnd: '2026-02-28',
      status: 'OPEN',
      sentToStripe: false,
      hostedInvoiceUrl: null,
      total: { amount: '0.403', currency: 'USD' },
    });
    expect(
      invoice.lines.map((l) => [l.requests, l.freeRequests, l.billableRequests, l.unitPrice.amount, l.amount.amount]),
    ).toEqual(
      expect.arrayContaining([
        [3, 1, 2, '0.0015', '0.003'],
        [2, 0, 2, '0.20', '0.40'],
      ]),
    );
    const theirs = closed.data!.closeBillingPeriod.find((i) => i.id !== invoice.id)!;
    const peek = await server.gql(InvoiceDocument, { id: theirs.id }, await headers(consumer));
    expect(peek.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const own = await server.gql(InvoiceDocument, { id: invoice.id }, await headers(consumer));
    expect(own.data?.invoice.id).toBe(invoice.id);
  });

  it('answers 503 on the Stripe webhook route when Stripe is not configured', async () => {
    const res = await fetch(`${server.origin}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
      body: '{}',
    });
    expect(res.status).toBe(503);
  });
});
