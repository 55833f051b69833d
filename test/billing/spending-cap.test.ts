// The monthly spending cap is exact under concurrency, for synchronous and queued predictions,
// over HTTP and WebSocket: with a cap of 1.00 and a price of 0.25, thirty concurrent requests get
// four accepted and billed, never more. Consumers read and set their cap; admins list who is capped.
import { PredictionStatus, Role } from '../../src/entities/enums.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import type { User } from '../../src/entities/user.entity.js';
import {
  CancelPredictionDocument,
  CappedUsersDocument,
  CreatePredictionDocument,
  MySpendingCapDocument,
  PredictDocument,
  SetSpendingCapDocument,
} from '../generated/graphql.js';
import { apiKeyFor, apiKeyHeaders, authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { openWs, wsParams } from '../support/ws-client.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';

const X = { name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] };
const CONCURRENT = 30;

async function until(check: () => Promise<boolean>, what: string) {
  const end = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the spending cap under concurrency', () => {
  let server: TestServer;
  let f: Factory;
  let modelId: string;

  beforeAll(async () => {
    // Thirty operations at once on one WebSocket connection (the default allows twenty).
    server = await startTestServer({ WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '64' });
    f = new Factory(server.app);
    const model = await f.model(await f.user({ role: Role.PUBLISHER }), { pricePerRequest: '0.25' });
    await storedVersion(server.app, model, 'elementwise');
    modelId = model.id;
  }, 120_000);
  afterAll(async () => server?.close());

  /** What a consumer was billed, from the usage records (the ledger). */
  const billed = async (user: User) => {
    const [row] = await server.app.db.orm.em
      .fork()
      .execute<{ n: string; amount: string }[]>(
        'select count(*)::text as n, coalesce(sum(amount), 0)::text as amount from usage_records where user_id = ?',
        [user.id],
      );
    return { records: Number(row.n), amount: Number(row.amount).toFixed(2) };
  };

  const OPERATIONS = {
    predict: { document: PredictDocument, variables: () => ({ modelId, inputs: [X] }) },
    createPrediction: { document: CreatePredictionDocument, variables: () => ({ input: { modelId, inputs: [X] } }) },
  } as const;

  it.each([
    ['predict', 'http'],
    ['predict', 'ws'],
    ['createPrediction', 'http'],
    ['createPrediction', 'ws'],
  ] as const)(
    '%s over %s: 30 concurrent requests at 0.25 under a cap of 1.00 bill exactly 1.00',
    async (operation, transport) => {
      const consumer = await f.user();
      const headers = await authHeaders(server.app, consumer);
      const set = await server.gql(SetSpendingCapDocument, { amount: '1.00' }, headers);
      expect(set.errors).toBeUndefined();
      const { document, variables } = OPERATIONS[operation];
      const ws = transport === 'ws' ? openWs(server, wsParams(headers)) : undefined;
      try {
        const outcomes = await Promise.all(
          Array.from({ length: CONCURRENT }, async () => {
            const res = ws
              ? await ws.run(document, variables())
              : await server.gql(document, variables() as never, headers);
            return (res.errors?.[0]?.extensions?.code as string | undefined) ?? 'OK';
          }),
        );
        const count = (code: string) => outcomes.filter((o) => o === code).length;
        expect({ OK: count('OK'), QUOTA_EXCEEDED: count('QUOTA_EXCEEDED') }).toEqual({ OK: 4, QUOTA_EXCEEDED: 26 });
      } finally {
        await ws?.dispose();
      }
      const em = () => server.app.db.orm.em.fork();
      await until(
        async () =>
          (await em().count(Prediction, {
            user: consumer.id,
            status: { $in: [PredictionStatus.QUEUED, PredictionStatus.RUNNING] },
          })) === 0,
        'the queued jobs to finish',
      );
      expect(await billed(consumer)).toEqual({ records: 4, amount: '1.00' });
      const me = await server.gql(MySpendingCapDocument, {}, headers);
      expect(me.data?.me.spendingCap).toMatchObject({
        limit: { amount: '1.00', currency: 'USD' },
        spent: { amount: '1.00' },
        reserved: { amount: '0.00' },
        remaining: { amount: '0.00' },
      });
    },
    120_000,
  );
});

describe('reservations of queued jobs', () => {
  let server: TestServer;
  let f: Factory;
  let modelId: string;

  beforeAll(async () => {
    // No worker: jobs stay QUEUED, holding their reservations, until the test starts one.
    server = await startTestServer({ RUN_JOBS: 'false' });
    f = new Factory(server.app);
    const model = await f.model(await f.user({ role: Role.PUBLISHER }), { pricePerRequest: '0.25' });
    await storedVersion(server.app, model, 'elementwise');
    modelId = model.id;
  }, 120_000);
  afterAll(async () => server?.close());

  it('hold their price until they end: a canceled job gives its room back, and the cap counts what is held', async () => {
    const consumer = await f.user();
    const headers = await authHeaders(server.app, consumer);
    await server.gql(SetSpendingCapDocument, { amount: '1.00' }, headers);
    const create = () => server.gql(CreatePredictionDocument, { input: { modelId, inputs: [X] } }, headers);
    const jobs = [];
    for (let i = 0; i < 4; i++) jobs.push((await create()).data!.createPrediction.id);
    const refused = await create();
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      reason: 'SPEND_CAP',
      cap: '1.00',
      spent: '0.00',
      reserved: '1.00',
    });
    const held = await server.gql(MySpendingCapDocument, {}, headers);
    expect(held.data?.me.spendingCap).toMatchObject({ reserved: { amount: '1.00' }, remaining: { amount: '0.00' } });

    await server.gql(CancelPredictionDocument, { id: jobs[0] }, headers);
    expect((await create()).errors).toBeUndefined();
    expect((await create()).errors?.[0]?.extensions?.code).toBe('QUOTA_EXCEEDED');
  });

  it('are not taken by consumers without a cap, and a cap set later applies to later requests', async () => {
    const consumer = await f.user();
    const headers = await authHeaders(server.app, consumer);
    const job = (await server.gql(CreatePredictionDocument, { input: { modelId, inputs: [X] } }, headers)).data!
      .createPrediction;
    const row = await server.app.db.orm.em.fork().findOneOrFail(Prediction, job.id);
    expect(row).toMatchObject({ reservedAmount: null, unitPrice: '0.2500000000' });
    await server.gql(SetSpendingCapDocument, { amount: '0.25' }, headers);
    expect(
      (await server.gql(CreatePredictionDocument, { input: { modelId, inputs: [X] } }, headers)).errors,
    ).toBeUndefined();
  });
});

describe('reading and setting a cap', () => {
  let server: TestServer;
  let f: Factory;

  beforeAll(async () => {
    server = await startTestServer({ SPENDING_CAP_MAX: '5000' });
    f = new Factory(server.app);
  }, 120_000);
  afterAll(async () => server?.close());

  it.each([
    ['a negative amount', '-1', 'BAD_USER_INPUT'],
    ['more than 10 decimals', '1.00000000001', 'BAD_USER_INPUT'],
    ['above SPENDING_CAP_MAX', '5000.01', 'BAD_USER_INPUT'],
    ['what no column holds', '99999999999999999999', 'BAD_USER_INPUT'],
    ['exponent notation', '1e3', 'BAD_USER_INPUT'],
    ['the maximum', '5000', 'OK'],
    ['zero', '0', 'OK'],
    ['null (no cap)', null, 'OK'],
  ] as const)('setSpendingCap with %s: %s', async (_label, amount, outcome) => {
    const user = await f.user();
    const res = await server.gql(SetSpendingCapDocument, { amount }, await authHeaders(server.app, user));
    expect((res.errors?.[0]?.extensions?.code as string | undefined) ?? 'OK').toBe(outcome);
    if (outcome === 'OK') {
      expect(res.data?.setSpendingCap.spendingCap?.limit.amount ?? null).toBe(
        amount === null ? null : Number(amount).toFixed(2),
      );
    }
  });

  it('is shown to its user and admins only; API keys read it with billing:read and never set it', async () => {
    const consumer = await f.user();
    const admin = await f.user({ role: Role.ADMIN });
    const headers = await authHeaders(server.app, consumer);
    await server.gql(SetSpendingCapDocument, { amount: '12.5' }, headers);
    expect((await server.gql(MySpendingCapDocument, {}, headers)).data?.me.spendingCap?.limit.amount).toBe('12.50');

    const billingKey = apiKeyHeaders(await apiKeyFor(server.app, consumer, ['billing:read']));
    expect((await server.gql(MySpendingCapDocument, {}, billingKey)).data?.me.spendingCap?.limit.amount).toBe('12.50');
    const predictKey = apiKeyHeaders(await apiKeyFor(server.app, consumer, ['predict']));
    expect((await server.gql(MySpendingCapDocument, {}, predictKey)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const lift = await server.gql(SetSpendingCapDocument, { amount: '5000' }, billingKey);
    expect(lift.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const listed = await server.gql(CappedUsersDocument, { first: 100 }, await authHeaders(server.app, admin));
    expect(listed.errors).toBeUndefined();
    const entry = listed.data!.cappedUsers.edges.find((e) => e.node.id === consumer.id)?.node;
    expect(entry).toMatchObject({ email: consumer.email, spendingCap: { limit: { amount: '12.50' } } });
    const notAdmin = await server.gql(CappedUsersDocument, {}, headers);
    expect(notAdmin.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
