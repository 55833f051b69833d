import { MeteringService } from '../../src/billing/metering.service.js';
import { formatInvoiceNumber } from '../../src/billing/invoice-number.js';
import { InvoiceStatus, Role } from '../../src/entities/enums.js';
import { InvoiceLine } from '../../src/entities/invoice-line.entity.js';
import { Invoice } from '../../src/entities/invoice.entity.js';
import { Model } from '../../src/entities/model.entity.js';
import { UsageRecord } from '../../src/entities/usage-record.entity.js';
import type { User } from '../../src/entities/user.entity.js';
import type { Caller } from '../../src/shared/caller.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { BillingFixtures } from './billing-fixtures.js';

describe('invoices (local, no Stripe)', () => {
  let server: TestServer;
  let fx: BillingFixtures;
  const metering = new MeteringService({ blockOverdue: true });
  let admin: User;
  let alice: User;
  let bob: User;
  const as = (user: User): Caller => ({ kind: 'user', userId: user.id, role: user.role });
  const ctx = (user: User) => ({ em: fx.em(), caller: as(user) });
  const invoices = () => server.app.services.billing.invoices;

  beforeAll(async () => {
    server = await startTestServer({ BILLING_DAYS_UNTIL_DUE: '14' });
    fx = new BillingFixtures(server.app);
    admin = await fx.factory.user({ role: Role.ADMIN });
    alice = await fx.consumer();
    bob = await fx.consumer();
    const publisher = await fx.publisher();
    const vision = await fx.pricedModel(publisher, { pricePerRequest: '0.0015', freeRequestsPerMonth: 2 });
    const text = await fx.pricedModel(publisher, { pricePerRequest: '0.10', freeRequestsPerMonth: 0 });
    const march = new Date('2026-03-20T10:00:00Z');
    // Alice: 5 vision (2 free, 3 at 0.0015), 2 text at 0.10, then the text price changes: 1 at 0.25.
    for (let i = 0; i < 5; i++) await fx.meteredPrediction(metering, alice, vision.model, vision.version, march);
    for (let i = 0; i < 2; i++) await fx.meteredPrediction(metering, alice, text.model, text.version, march);
    await fx.setPrice(text.model, '0.25');
    await fx.meteredPrediction(metering, alice, text.model, text.version, march);
    // Bob: 1 free vision request only.
    await fx.meteredPrediction(metering, bob, vision.model, vision.version, march);
    // April usage must stay out of March's invoices.
    await fx.meteredPrediction(metering, alice, text.model, text.version, new Date('2026-04-02T00:00:00Z'));
  });
  afterAll(() => server?.close());

  it('builds one invoice per consumer with one line per version and price, exact totals', async () => {
    const built = await invoices().closeBillingPeriod(ctx(admin), new Date('2026-03-01T00:00:00Z'));
    expect(built).toHaveLength(2);
    const [first, second] = built as [Invoice, Invoice];
    expect(second.number).toBe(first.number + 1);
    const aliceInvoice = built.find((i) => i.user.id === alice.id)!;
    expect(aliceInvoice).toMatchObject({
      periodStart: '2026-03-01',
      periodEnd: '2026-03-31',
      status: InvoiceStatus.OPEN,
      sentToStripe: false,
      // 3 × 0.0015 + 2 × 0.10 + 1 × 0.25
      total: '0.4545000000',
      subtotal: '0.4545000000',
    });
    expect(aliceInvoice.dueAt!.getTime() - aliceInvoice.finalizedAt!.getTime()).toBe(14 * 86_400_000);
    expect(formatInvoiceNumber(aliceInvoice.number, aliceInvoice.periodStart)).toMatch(/^MM-2026-\d{6}$/);
    const lines = await fx.em().find(InvoiceLine, { invoice: aliceInvoice.id }, { orderBy: { amount: 'asc' } });
    expect(lines.map((l) => [l.requests, l.freeRequests, l.billableRequests, l.unitPrice, l.amount])).toEqual([
      [5, 2, 3, '0.0015000000', '0.0045000000'],
      [2, 0, 2, '0.1000000000', '0.2000000000'],
      [1, 0, 1, '0.2500000000', '0.2500000000'],
    ]);
    // Bob's usage was all free: settled at once, nothing to collect.
    const bobInvoice = built.find((i) => i.user.id === bob.id)!;
    expect(bobInvoice).toMatchObject({ total: '0.0000000000', status: InvoiceStatus.PAID });
    // April's record is untouched.
    expect(await fx.em().count(UsageRecord, { user: alice.id, invoice: null })).toBe(1);
  });

  it('changes nothing when run again, or several times at once', async () => {
    const before = await fx.em().find(Invoice, { periodStart: '2026-03-01' }, { orderBy: { number: 'asc' } });
    const again = await invoices().closeBillingPeriod(ctx(admin), '2026-03-01T00:00:00Z');
    const racing = await Promise.all(
      Array.from({ length: 4 }, () => invoices().closeBillingPeriod(ctx(admin), '2026-03-01T00:00:00Z')),
    );
    const shape = (list: Invoice[]) => list.map((i) => [i.id, i.number, i.total, i.status]);
    for (const result of [again, ...racing]) expect(shape(result)).toEqual(shape(before));
    expect(await fx.em().count(InvoiceLine, {})).toBe(4);
  });

  it('builds a period concurrently exactly once', async () => {
    const racing = await Promise.all(
      Array.from({ length: 4 }, () => invoices().closeBillingPeriod(ctx(admin), '2026-04-01T00:00:00Z')),
    );
    const ids = racing.map((list) => list.map((i) => i.id).join());
    expect(new Set(ids).size).toBe(1);
    expect(racing[0]).toHaveLength(1);
    expect(await fx.em().count(Invoice, { periodStart: '2026-04-01' })).toBe(1);
    const numbers = (await fx.em().find(Invoice, {}, { orderBy: { number: 'asc' } })).map((i) => i.number);
    // Gap-free series.
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0] + i));
  });

  it('puts late usage of a closed period on the next invoice', async () => {
    const model = await fx.em().findOneOrFail(Model, { freeRequestsPerMonth: 0 }, { populate: ['defaultVersion'] });
    const late = await fx.meteredPrediction(
      metering,
      alice,
      model,
      model.defaultVersion!,
      new Date('2026-03-31T23:59:00Z'),
    );
    expect(late.record.periodStart).toBe('2026-03-01');
    const march = await invoices().closeBillingPeriod(ctx(admin), '2026-03-01T00:00:00Z');
    expect(march.find((i) => i.user.id === alice.id)!.total).toBe('0.4545000000');
    const may = await invoices().closeBillingPeriod(ctx(admin), '2026-05-01T00:00:00Z');
    expect(may).toHaveLength(1);
    expect(may[0]).toMatchObject({ total: '0.2500000000', periodStart: '2026-05-01' });
    const record = await fx.em().findOneOrFail(UsageRecord, { prediction: late.prediction.id });
    expect(record.invoice?.id).toBe(may[0].id);
  });

  it('lets only admins close, refuses a period that has not ended or is not a month start', async () => {
    await expect(invoices().closeBillingPeriod(ctx(alice), '2026-03-01T00:00:00Z')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(invoices().closeBillingPeriod(ctx(admin), '2026-03-02T00:00:00Z')).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    const thisMonth = new Date();
    thisMonth.setUTCDate(1);
    thisMonth.setUTCHours(0, 0, 0, 0);
    await expect(invoices().closeBillingPeriod(ctx(admin), thisMonth)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
  });

  it('shows consumers their own invoices only; admins any', async () => {
    const page = await invoices().list(ctx(alice), { first: 1 });
    expect(page.edges).toHaveLength(1);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const next = await invoices().list(ctx(alice), { first: 10, after: page.pageInfo.endCursor });
    const all = [...page.edges, ...next.edges].map((e) => e.node);
    expect(all.every((i) => i.user.id === alice.id)).toBe(true);
    expect(all.map((i) => i.periodStart)).toEqual(['2026-05-01', '2026-04-01', '2026-03-01']);
    const bobs = (await invoices().list(ctx(bob), {})).edges.map((e) => e.node);
    await expect(invoices().get(ctx(alice), bobs[0].id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(invoices().get(ctx(admin), bobs[0].id)).resolves.toMatchObject({ id: bobs[0].id });
    await expect(invoices().list(ctx(alice), { userId: bob.id })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('blocks a consumer with an overdue invoice when configured to', async () => {
    const aliceMarch = await fx.em().findOneOrFail(Invoice, { user: alice.id, periodStart: '2026-03-01' });
    await fx.em().nativeUpdate(Invoice, { id: aliceMarch.id }, { dueAt: new Date(Date.now() - 1000) });
    const model = await fx.em().findOneOrFail(Model, { freeRequestsPerMonth: 0 });
    await expect(metering.accept(fx.em(), alice.id, model.id)).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { reason: 'OVERDUE_INVOICE', invoice: formatInvoiceNumber(aliceMarch.number, '2026-03-01') },
    });
    await expect(
      new MeteringService({ blockOverdue: false }).accept(fx.em(), alice.id, model.id),
    ).resolves.toHaveProperty('unitPrice');
    await expect(metering.accept(fx.em(), bob.id, model.id)).resolves.toHaveProperty('unitPrice');
  });
});
