// closeBillingPeriod isolates consumers: one whose invoice cannot be built (or sent) is reported
// and retried by the next close, and every other consumer is invoiced regardless of where the
// failing one sorts.
import { InvoiceService } from '../../src/billing/invoice.service.js';
import { MeteringService } from '../../src/billing/metering.service.js';
import type { PaymentsGateway } from '../../src/billing/payments.types.js';
import { InvoiceStatus, Role } from '../../src/entities/enums.js';
import { Invoice } from '../../src/entities/invoice.entity.js';
import type { User } from '../../src/entities/user.entity.js';
import { BillingFailuresDocument, CloseBillingPeriodDocument } from '../generated/graphql.js';
import { authHeaders } from '../support/auth.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { BillingFixtures } from './billing-fixtures.js';

let server: TestServer;
let fx: BillingFixtures;
let admin: User;
const metering = new MeteringService({ blockOverdue: false });

beforeAll(async () => {
  server = await startTestServer();
  fx = new BillingFixtures(server.app);
  admin = await fx.factory.user({ role: Role.ADMIN });
}, 120_000);
afterAll(async () => server?.close());

/** Six consumers with billable usage in `month`, sorted by id (the order a close visits them). */
async function consumersWithUsage(month: string): Promise<User[]> {
  const { model, version } = await fx.pricedModel(await fx.publisher(), {
    pricePerRequest: '0.10',
    freeRequestsPerMonth: 0,
  });
  const users: User[] = [];
  for (let i = 0; i < 6; i++) {
    const u = await fx.consumer();
    await fx.meteredPrediction(metering, u, model, version, new Date(`${month}-10T12:00:00Z`));
    users.push(u);
  }
  return users.sort((a, b) => a.id.localeCompare(b.id));
}

const invoicedUsers = async (periodStart: string) =>
  (await fx.em().find(Invoice, { periodStart })).map((i) => i.user.id).sort();

/** Makes building `user`'s invoice fail inside the database, as a corrupt row or a bug would. */
async function breakInvoicesOf(user: User) {
  await fx.em().execute(`create or replace function test_refuse_invoice() returns trigger language plpgsql as $$
    begin
      if new.user_id = '${user.id}' then raise exception 'invoice refused by the test'; end if;
      return new;
    end $$`);
  await fx
    .em()
    .execute(
      'create trigger test_refuse_invoice before insert on invoices for each row execute function test_refuse_invoice()',
    );
}
const repairInvoices = () => fx.em().execute('drop trigger test_refuse_invoice on invoices');

it.each([
  ['BUILD', 'the first consumer', 0],
  ['BUILD', 'a consumer in the middle', 3],
] as const)(
  'one consumer whose invoice cannot be built (%s, %s): the others are invoiced, it is reported, the next close makes it',
  async (stage, _which, index) => {
    const month = index === 0 ? '2025-01' : '2025-02';
    const periodStart = `${month}-01`;
    const users = await consumersWithUsage(month);
    const failing = users[index];
    const headers = await authHeaders(server.app, admin);
    await breakInvoicesOf(failing);
    try {
      const closed = await server.gql(CloseBillingPeriodDocument, { periodStart: `${periodStart}T00:00:00Z` }, headers);
      expect(closed.errors).toBeUndefined();
      expect(closed.data!.closeBillingPeriod).toHaveLength(5);
      expect(await invoicedUsers(periodStart)).toEqual(
        users
          .filter((u) => u !== failing)
          .map((u) => u.id)
          .sort(),
      );
      const reported = await server.gql(BillingFailuresDocument, { periodStart: `${periodStart}T00:00:00Z` }, headers);
      expect(reported.data!.billingFailures).toEqual([
        expect.objectContaining({ userId: failing.id, periodStart, stage, code: 'P0001', attempts: 1 }),
      ]);
      // Still broken: the next close tries it again and counts the attempt.
      await server.gql(CloseBillingPeriodDocument, { periodStart: `${periodStart}T00:00:00Z` }, headers);
      const again = await server.gql(BillingFailuresDocument, { periodStart: `${periodStart}T00:00:00Z` }, headers);
      expect(again.data!.billingFailures[0]?.attempts).toBe(2);
    } finally {
      await repairInvoices();
    }
    const retried = await server.gql(CloseBillingPeriodDocument, { periodStart: `${periodStart}T00:00:00Z` }, headers);
    expect(retried.data!.closeBillingPeriod).toHaveLength(6);
    expect(await invoicedUsers(periodStart)).toEqual(users.map((u) => u.id).sort());
    const cleared = await server.gql(BillingFailuresDocument, { periodStart: `${periodStart}T00:00:00Z` }, headers);
    expect(cleared.data!.billingFailures).toEqual([]);
  },
);

it('one consumer whose invoice the payments provider refuses (SEND): the others are sent, it is reported and retried', async () => {
  const users = await consumersWithUsage('2025-03');
  const failing = users[2];
  let refuse = true;
  const sent: string[] = [];
  const payments: PaymentsGateway = {
    async sendInvoice(invoice, onCreated) {
      if (refuse && invoice.customer.userId === failing.id) {
        throw Object.assign(new Error('Amount must be no more than $999,999.99'), { code: 'amount_too_large' });
      }
      await onCreated(`in_${invoice.invoiceId}`);
      sent.push(invoice.customer.userId);
      return {
        stripeCustomerId: `cus_${invoice.customer.userId}`,
        stripeInvoiceId: `in_${invoice.invoiceId}`,
        hostedInvoiceUrl: null,
        status: InvoiceStatus.OPEN,
        finalizedAt: new Date(),
        dueAt: new Date(),
      };
    },
  };
  const service = new InvoiceService({ daysUntilDue: 30, maxPageSize: 100, payments });
  const ctx = { em: fx.em(), caller: { kind: 'user' as const, userId: admin.id, role: Role.ADMIN } };
  const built = await service.closeBillingPeriod(ctx, '2025-03-01');
  expect(built).toHaveLength(6);
  expect(sent.sort()).toEqual(
    users
      .filter((u) => u !== failing)
      .map((u) => u.id)
      .sort(),
  );
  expect((await service.failures(ctx, '2025-03-01')).map((f) => [f.user.id, f.stage, f.code])).toEqual([
    [failing.id, 'SEND', 'amount_too_large'],
  ]);
  refuse = false;
  await service.closeBillingPeriod(ctx, '2025-03-01');
  expect(sent).toContain(failing.id);
  expect(await service.failures(ctx, '2025-03-01')).toEqual([]);
});
