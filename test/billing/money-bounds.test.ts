// Every money input is bounded, and no sum of usage can overflow its column: an amount the
// platform cannot take is a BAD_USER_INPUT naming its bound, never a 500 ("numeric field
// overflow") in metering, invoicing or earnings.
import { MeteringService } from '../../src/billing/metering.service.js';
import { formatMoney } from '../../src/billing/money.js';
import { Role } from '../../src/entities/enums.js';
import { Model } from '../../src/entities/model.entity.js';
import type { User } from '../../src/entities/user.entity.js';
import {
  CloseBillingPeriodDocument,
  CreateModelDocument,
  EarningsDocument,
  PredictDocument,
  UpdateModelDocument,
} from '../generated/graphql.js';
import { authHeaders } from '../support/auth.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { openWs, wsParams } from '../support/ws-client.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { BillingFixtures } from './billing-fixtures.js';

const X = { name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] };
/** The largest value numeric(20,10) holds: what a model could be priced at before the bound. */
const COLUMN_MAX = '9999999999.9999999999';

let server: TestServer;
let fx: BillingFixtures;
let publisher: User;
let admin: User;
let seq = 0;

beforeAll(async () => {
  server = await startTestServer();
  fx = new BillingFixtures(server.app);
  publisher = await fx.publisher();
  admin = await fx.factory.user({ role: Role.ADMIN });
}, 120_000);
afterAll(async () => server?.close());

const codeOf = (res: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  (res.errors?.[0]?.extensions?.code as string | undefined) ?? 'OK';

describe.each(['http', 'ws'] as const)('model pricing inputs over %s', (transport) => {
  const send = async (document: typeof CreateModelDocument | typeof UpdateModelDocument, variables: object) => {
    const headers = await authHeaders(server.app, publisher);
    if (transport === 'http') return server.gql(document, variables as never, headers);
    const ws = openWs(server, wsParams(headers));
    try {
      return await ws.run(document, variables as Record<string, unknown>);
    } finally {
      await ws.dispose();
    }
  };

  it.each([
    ['the maximum (PRICE_PER_REQUEST_MAX, 1000)', { pricePerRequest: '1000' }, 'OK'],
    ['a cent over the maximum', { pricePerRequest: '1000.01' }, 'BAD_USER_INPUT'],
    ['the column maximum', { pricePerRequest: COLUMN_MAX }, 'BAD_USER_INPUT'],
    ['more digits than a column holds', { pricePerRequest: '123456789012' }, 'BAD_USER_INPUT'],
    ['a negative price', { pricePerRequest: '-0.01' }, 'BAD_USER_INPUT'],
    ['exponent notation', { pricePerRequest: '1e2' }, 'BAD_USER_INPUT'],
    ['11 decimals', { pricePerRequest: '0.00000000001' }, 'BAD_USER_INPUT'],
    ['a billion free requests', { freeRequestsPerMonth: 1_000_000_000 }, 'OK'],
    ['more free requests than allowed', { freeRequestsPerMonth: 1_000_000_001 }, 'BAD_USER_INPUT'],
    ['negative free requests', { freeRequestsPerMonth: -1 }, 'BAD_USER_INPUT'],
  ] as const)('%s: %s on create and on update', async (_label, pricing, outcome) => {
    const n = ++seq;
    const created = await send(CreateModelDocument, {
      input: { slug: `bounds-${transport}-${n}`, name: 'Bounds', task: 'test', ...pricing },
    });
    expect(codeOf(created)).toBe(outcome);
    const model = await fx.factory.model(publisher);
    const updated = await send(UpdateModelDocument, { id: model.id, input: pricing });
    expect(codeOf(updated)).toBe(outcome);
    if (outcome === 'BAD_USER_INPUT') {
      expect(updated.errors?.[0]?.extensions?.field).toBe(Object.keys(pricing)[0]);
      const stored = await fx.em().findOneOrFail(Model, model.id);
      expect(formatMoney(stored.pricePerRequest)).toBe(formatMoney(model.pricePerRequest));
    }
  });
});

describe('sums of usage', () => {
  it('a model priced above the maximum before the bound existed is not run: a coded refusal, nothing billed', async () => {
    const consumer = await fx.consumer();
    const model = await fx.factory.model(publisher);
    await storedVersion(server.app, model, 'elementwise');
    await fx.em().nativeUpdate(Model, { id: model.id }, { pricePerRequest: COLUMN_MAX });
    const headers = await authHeaders(server.app, consumer);
    for (let i = 0; i < 2; i++) {
      const res = await server.gql(PredictDocument, { modelId: model.id, inputs: [X] }, headers);
      expect(res.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'PRICE_ABOVE_MAXIMUM',
        maxPricePerRequest: '1000.00',
      });
    }
    const [{ n }] = await fx
      .em()
      .execute<{ n: string }[]>('select count(*)::text as n from usage_records where user_id = ?', [consumer.id]);
    expect(n).toBe('0');
  });

  it("a consumer's month past what a money column holds meters, invoices and earns exactly", async () => {
    // Two predictions at the column's maximum (a legacy price), in a closed month: their counter,
    // their month's spend, the invoice and its line, and the publisher's earnings all exceed it.
    const metering = new MeteringService({ blockOverdue: false });
    const consumer = await fx.consumer();
    const other = await fx.consumer();
    const { model, version } = await fx.pricedModel(publisher, { pricePerRequest: '1', freeRequestsPerMonth: 0 });
    await fx.em().nativeUpdate(Model, { id: model.id }, { pricePerRequest: COLUMN_MAX });
    const at = new Date('2026-01-15T12:00:00Z');
    await fx.meteredPrediction(metering, consumer, model, version, at);
    await fx.meteredPrediction(metering, consumer, model, version, at);
    await fx.meteredPrediction(metering, other, model, version, at);
    const [counter] = await fx
      .em()
      .execute<{ requests: string; amount: string }[]>(
        'select requests::text, amount::text from usage_counters where user_id = ? and model_id = ?',
        [consumer.id, model.id],
      );
    expect(counter).toEqual({ requests: '2', amount: '19999999999.9999999998' });

    const closed = await server.gql(
      CloseBillingPeriodDocument,
      { periodStart: '2026-01-01T00:00:00Z' },
      await authHeaders(server.app, admin),
    );
    expect(closed.errors).toBeUndefined();
    const totals = closed.data!.closeBillingPeriod.map((i) => i.total.amount).sort();
    expect(totals).toEqual(['19999999999.9999999998', '9999999999.9999999999']);
    const line = closed.data!.closeBillingPeriod.find((i) => i.total.amount.startsWith('1999'))!.lines[0];
    expect(line).toMatchObject({ requests: 2, billableRequests: 2, amount: { amount: '19999999999.9999999998' } });

    const earnings = await server.gql(
      EarningsDocument,
      { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' },
      await authHeaders(server.app, publisher),
    );
    expect(earnings.errors).toBeUndefined();
    expect(earnings.data!.earnings.gross.amount).toBe('29999999999.9999999997');
  });

  it('a month row near the column maximum takes one more prediction at the maximum price', async () => {
    const consumer = await fx.consumer();
    const model = await fx.factory.model(publisher, { pricePerRequest: '1000' });
    await storedVersion(server.app, model, 'elementwise');
    const headers = await authHeaders(server.app, consumer);
    expect((await server.gql(PredictDocument, { modelId: model.id, inputs: [X] }, headers)).errors).toBeUndefined();
    await fx
      .em()
      .execute(`update usage_counters set amount = ?, requests = 2147483647 where user_id = ?`, [
        COLUMN_MAX,
        consumer.id,
      ]);
    const again = await server.gql(PredictDocument, { modelId: model.id, inputs: [X] }, headers);
    expect(again.errors).toBeUndefined();
    expect(Number(again.data!.predict.prediction.cost?.amount)).toBe(1000);
  });
});
