import Stripe from 'stripe';
import { MeteringService } from '../../src/billing/metering.service.js';
import { InvoiceStatus, Role } from '../../src/entities/enums.js';
import { Invoice } from '../../src/entities/invoice.entity.js';
import { User } from '../../src/entities/user.entity.js';
import type { Caller } from '../../src/shared/caller.js';
import { FakeStripe } from '../support/fake-stripe.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { BillingFixtures } from './billing-fixtures.js';

const WEBHOOK_SECRET = 'whsec_test_secret';

describe('Stripe invoicing and webhooks', () => {
  let server: TestServer;
  let stripe: FakeStripe;
  let fx: BillingFixtures;
  let admin: User;
  const metering = new MeteringService({ blockOverdue: true });
  const adminCtx = () => ({ em: fx.em(), caller: { kind: 'user', userId: admin.id, role: Role.ADMIN } as Caller });
  const close = (period: string) => server.app.services.billing.invoices.closeBillingPeriod(adminCtx(), period);

  /** A consumer with `n` paid requests at 0.0015 in the given month. */
  async function consumerWithUsage(n: number, at: Date): Promise<User> {
    const consumer = await fx.consumer();
    const { model, version } = await fx.pricedModel(await fx.publisher(), {
      pricePerRequest: '0.0015',
      freeRequestsPerMonth: 0,
    });
    for (let i = 0; i < n; i++) await fx.meteredPrediction(metering, consumer, model, version, at);
    return consumer;
  }

  beforeAll(async () => {
    stripe = await new FakeStripe().start();
    server = await startTestServer(stripe.env(WEBHOOK_SECRET));
    fx = new BillingFixtures(server.app);
    admin = await fx.factory.user({ role: Role.ADMIN });
  });
  afterAll(async () => {
    await server?.close();
    await stripe?.stop();
  });

  describe('sending invoices', () => {
    // Stripe charges whole cents: below half a cent an invoice is $0 and Stripe settles it at
    // finalisation (see 'a sub-cent total' below); these consumers owe more than that.
    let consumer: User;
    let invoice: Invoice;

    beforeAll(async () => {
      consumer = await consumerWithUsage(7, new Date('2026-01-10T00:00:00Z'));
      stripe.failNext(1); // one 500: the SDK retries with the same Idempotency-Key
      [invoice] = (await close('2026-01-01T00:00:00Z')) as [Invoice];
    });

    it('creates the customer, an invoice with its items, and finalises it', async () => {
      expect(invoice).toMatchObject({ status: InvoiceStatus.OPEN, sentToStripe: true, total: '0.0105000000' });
      expect(invoice.stripeInvoiceId).toMatch(/^in_/);
      expect(invoice.hostedInvoiceUrl).toContain(invoice.stripeInvoiceId);
      expect(invoice.dueAt).toBeInstanceOf(Date);
      const user = await fx.em().findOneOrFail(User, consumer.id);
      expect(user.stripeCustomerId).toMatch(/^cus_/);

      const remote = stripe.invoices.get(invoice.stripeInvoiceId!)!;
      expect(remote).toMatchObject({ status: 'open', customer: user.stripeCustomerId, currency: 'usd' });
      expect(remote.metadata).toEqual({
        invoiceId: invoice.id,
        invoiceNumber: expect.stringMatching(/^MM-2026-/) as string,
      });
      const [item] = [...stripe.invoiceItems.values()];
      // 7 × 0.15 cents = 1.05 cents: Stripe rounds the line to 1 cent.
      expect(item).toMatchObject({ quantity: 7, unit_amount_decimal: '0.15', invoice: remote.id });
    });

    it('sends an Idempotency-Key derived from our ids on every write, reused by retries', async () => {
      const writes = stripe.writes();
      expect(writes.every((w) => typeof w.idempotencyKey === 'string')).toBe(true);
      expect(writes.map((w) => w.idempotencyKey)).toEqual(
        expect.arrayContaining([
          `mm-customer-${consumer.id}`,
          `mm-invoice-${invoice.id}`,
          `mm-invoice-finalize-${invoice.id}`,
        ]),
      );
      const failed = stripe.requests[0];
      expect(stripe.requests[1].idempotencyKey).toBe(failed.idempotencyKey);
    });

    it('retries an invoice that could not be sent, without creating anything twice', async () => {
      const other = await consumerWithUsage(10, new Date('2026-02-03T00:00:00Z'));
      stripe.failNext(50); // beyond the SDK's retries: the close leaves it unsent
      const [unsent] = (await close('2026-02-01T00:00:00Z')) as [Invoice];
      expect(unsent).toMatchObject({ sentToStripe: false, status: InvoiceStatus.DRAFT });
      stripe.failNext(0);
      const customersBefore = stripe.customers.size;
      const [sent] = (await close('2026-02-01T00:00:00Z')) as [Invoice];
      expect(sent).toMatchObject({ id: unsent.id, sentToStripe: true, status: InvoiceStatus.OPEN });
      expect(stripe.customers.size).toBe(customersBefore + 1);
      expect(
        [...stripe.invoices.values()].filter((i) => (i.metadata as { invoiceId: string }).invoiceId === sent.id),
      ).toHaveLength(1);
      expect((await fx.em().findOneOrFail(User, other.id)).stripeCustomerId).toMatch(/^cus_/);
    });

    it('settles a sub-cent total, which Stripe rounds to $0, as paid', async () => {
      const consumer = await consumerWithUsage(2, new Date('2026-03-03T00:00:00Z')); // 0.003 USD
      const invoice = (await close('2026-03-01T00:00:00Z')).find((i) => i.user.id === consumer.id)!;
      expect(invoice).toMatchObject({ total: '0.0030000000', sentToStripe: true, status: InvoiceStatus.PAID });
      expect(stripe.invoices.get(invoice.stripeInvoiceId!)).toMatchObject({ status: 'paid', amount_due: 0 });
    });

    it('changes nothing in Stripe when the period is closed again', async () => {
      const before = stripe.requests.length;
      await close('2026-01-01T00:00:00Z');
      expect(stripe.requests.length).toBe(before);
    });
  });

  describe('POST /webhooks/stripe', () => {
    const post = (payload: string, signature?: string) =>
      fetch(`${server.origin}/webhooks/stripe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(signature ? { 'stripe-signature': signature } : {}) },
        body: payload,
      });
    let seq = 0;
    function event(type: string, invoice: Invoice, created: number, extra: Record<string, unknown> = {}) {
      return JSON.stringify({
        id: `evt_test_${++seq}`,
        object: 'event',
        type,
        created,
        data: {
          object: { id: invoice.stripeInvoiceId, object: 'invoice', metadata: { invoiceId: invoice.id }, ...extra },
        },
      });
    }
    const sign = (payload: string, secret = WEBHOOK_SECRET) =>
      Stripe.webhooks.generateTestHeaderString({ payload, secret });
    const send = (payload: string) => post(payload, sign(payload));
    const statusOf = async (invoice: Invoice) => (await fx.em().findOneOrFail(Invoice, invoice.id)).status;

    async function openInvoice(month: string): Promise<Invoice> {
      await consumerWithUsage(10, new Date(`${month}-05T00:00:00Z`));
      const list = await close(`${month}-01T00:00:00Z`);
      expect(list[0]).toMatchObject({ status: InvoiceStatus.OPEN });
      return list[0];
    }

    it('refuses a bad or missing signature', async () => {
      const invoice = await openInvoice('2026-06');
      const payload = event('invoice.paid', invoice, 1_800_000_000);
      expect((await post(payload, sign(payload, 'whsec_wrong'))).status).toBe(400);
      expect((await post(payload)).status).toBe(400);
      // Signed, then tampered with.
      expect((await post(payload.replace('invoice.paid', 'invoice.voided'), sign(payload))).status).toBe(400);
      expect(await statusOf(invoice)).toBe(InvoiceStatus.OPEN);
    });

    it.each([
      ['signed now', 0, 200, 'PAID', '2024-01'],
      ['signed 4 minutes ago', -240, 200, 'PAID', '2024-02'],
      ['signed 10 minutes ago', -600, 400, 'OPEN', '2024-03'],
      ['signed 4 minutes ahead (clock skew)', 240, 200, 'PAID', '2024-04'],
      ['signed 10 minutes ahead (replayable for as long)', 600, 400, 'OPEN', '2024-05'],
      ['signed a day ahead', 86_400, 400, 'OPEN', '2024-06'],
    ] as const)(
      'takes a signature timestamp within 300 s either way: %s (%i s)',
      async (_label, offsetSeconds, status, invoiceStatus, month) => {
        const invoice = await openInvoice(month);
        const payload = event('invoice.paid', invoice, 1_800_000_000);
        const timestamp = Math.floor(Date.now() / 1000) + offsetSeconds;
        const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET, timestamp });
        expect((await post(payload, signature)).status).toBe(status);
        expect(await statusOf(invoice)).toBe(invoiceStatus);
      },
    );

    it('marks an invoice paid, and a replay changes nothing', async () => {
      const invoice = await openInvoice('2026-07');
      const paid = event('invoice.paid', invoice, 1_800_000_100, { status_transitions: { paid_at: 1_800_000_090 } });
      const res = await send(paid);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ received: true, outcome: 'processed' });
      const stored = await fx.em().findOneOrFail(Invoice, invoice.id);
      expect(stored.status).toBe(InvoiceStatus.PAID);
      expect(stored.paidAt).toEqual(new Date(1_800_000_090 * 1000));
      const replay = await send(paid);
      expect(await replay.json()).toEqual({ received: true, outcome: 'duplicate' });
    });

    it('processes an event delivered several times at once exactly once', async () => {
      const invoice = await openInvoice('2026-05');
      const payload = event('invoice.marked_uncollectible', invoice, 1_800_000_500);
      const outcomes = await Promise.all(
        Array.from({ length: 5 }, async () => ((await (await send(payload)).json()) as { outcome: string }).outcome),
      );
      expect(outcomes.sort()).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'processed']);
      expect(await statusOf(invoice)).toBe(InvoiceStatus.UNCOLLECTIBLE);
    });

    it('keeps the latest state when events arrive out of order', async () => {
      const invoice = await openInvoice('2026-08');
      await send(event('invoice.paid', invoice, 1_800_000_300));
      await send(event('invoice.payment_failed', invoice, 1_800_000_100));
      await send(event('invoice.finalized', invoice, 1_800_000_050));
      expect(await statusOf(invoice)).toBe(InvoiceStatus.PAID);
    });

    it('moves invoices to OPEN, UNCOLLECTIBLE, PAID and VOID', async () => {
      const a = await openInvoice('2026-09');
      await send(event('invoice.payment_failed', a, 1_800_000_000));
      expect(await statusOf(a)).toBe(InvoiceStatus.OPEN);
      await send(event('invoice.marked_uncollectible', a, 1_800_000_010));
      expect(await statusOf(a)).toBe(InvoiceStatus.UNCOLLECTIBLE);
      await send(event('invoice.paid', a, 1_800_000_020));
      expect(await statusOf(a)).toBe(InvoiceStatus.PAID);
      const b = await openInvoice('2026-10');
      await send(event('invoice.voided', b, 1_800_000_000));
      expect(await statusOf(b)).toBe(InvoiceStatus.VOID);
      await send(event('invoice.paid', b, 1_800_000_100));
      expect(await statusOf(b)).toBe(InvoiceStatus.VOID);
    });

    it('acknowledges events it does not act on', async () => {
      const payload = JSON.stringify({
        id: 'evt_other',
        object: 'event',
        type: 'customer.created',
        created: 1_800_000_000,
        data: { object: { id: 'cus_x', object: 'customer' } },
      });
      const res = await send(payload);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ received: true, outcome: 'ignored' });
    });
  });
});
