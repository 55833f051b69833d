import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiKeyScope, InvoiceStatus, Role } from '../entities/enums.js';
import { InvoiceLine } from '../entities/invoice-line.entity.js';
import { Invoice } from '../entities/invoice.entity.js';
import { User } from '../entities/user.entity.js';
import { badInput, notFound } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { decodeCursor, encodeCursor, pageSize, toPage, type Page } from '../shared/pagination.js';
import type { ServiceContext } from '../shared/service-context.js';
import { requireRole, requireUser } from '../auth/access.js';
import { AuthFailure, forbidden } from '../auth/auth.errors.js';
import { loaderKind, type BatchingContext } from '../shared/request-loaders.js';
import { nextPeriodStart, parsePeriodStart, periodEndOf } from './billing-period.js';
import { formatInvoiceNumber } from './invoice-number.js';
import { statusesBelow } from './invoice-status.js';
import { compareMoney } from './money.js';
import type { PaymentsGateway } from './payments.types.js';
import { isDependencyUnavailable } from '../shared/dependency-errors.js';
import { BillingStage, billingFailuresOf, clearBillingFailure, recordBillingFailure } from './billing-failures.js';
import type { BillingFailure } from '../entities/billing-failure.entity.js';

/**
 * One transaction-scoped advisory lock serialises invoice building across every API replica:
 * numbers come from `max(number) + 1` under it, so the series has no gaps (a sequence skips
 * numbers on rollback), and two concurrent closes of a period cannot both build a consumer's
 * invoice (the second finds the first's row; `invoices_user_period_unique` backs this up).
 */
const INVOICE_LOCK_KEY = 7_2026_0001;

const CLAIM_SQL = `
update usage_records set invoice_id = ?
where user_id = ? and period_start <= ? and invoice_id is null
returning 1`;

/** One line per model version and price (a price changed mid-month gives two lines). */
const LINES_SQL = `
insert into invoice_lines
  (id, invoice_id, model_id, version_id, description, requests, free_requests, billable_requests, unit_price, amount)
select gen_random_uuid(), r.invoice_id, r.model_id, r.version_id, left(m.name || ' ' || v.version, 300),
  count(*), count(*) filter (where r.free), count(*) filter (where not r.free), r.unit_price, sum(r.amount)
from usage_records r
join models m on m.id = r.model_id
join model_versions v on v.id = r.version_id
where r.invoice_id = ?
group by r.invoice_id, r.model_id, r.version_id, r.unit_price, m.name, v.version`;

export type InvoiceServiceOptions = {
  daysUntilDue: number;
  maxPageSize: number;
  /** Absent: invoices stay local (`sentToStripe: false`). */
  payments?: PaymentsGateway;
  logger?: Logger;
  now?: () => Date;
};

const LINES = loaderKind<string, InvoiceLine[]>('invoice lines');

/** Monthly invoices: building them from usage, sending them out, and reading them back. */
export class InvoiceService {
  constructor(private readonly options: InvoiceServiceOptions) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** Admin entry point of `closePeriod`. */
  async closeBillingPeriod(ctx: ServiceContext, periodStart: Date | string): Promise<Invoice[]> {
    requireRole(ctx.caller, [Role.ADMIN], { scope: ApiKeyScope.BILLING_READ });
    return this.closePeriod(ctx.em, periodStart);
  }

  /**
   * Builds the period's invoices: one per consumer with unbilled usage up to the period (late
   * usage of earlier, already closed periods included), then sends the unsent ones. Safe to run
   * again and concurrently: consumers already invoiced for the period are skipped, and sending
   * retries only what did not reach the payments provider. Returns all the period's invoices.
   *
   * Consumers are isolated: each one's invoice is built in its own transaction, and one that
   * fails (to build or to send) is recorded in `billing_failures`, logged, and left for the next
   * close to retry, while everyone else's invoices are made. Only a dependency that is down
   * (nobody's invoice can be made) stops the close.
   */
  async closePeriod(em: EntityManager, periodStartInput: Date | string): Promise<Invoice[]> {
    const periodStart = parsePeriodStart(periodStartInput);
    if (this.now() < new Date(`${nextPeriodStart(periodStart)}T00:00:00Z`)) {
      throw badInput('The period has not ended yet', { field: 'periodStart' });
    }
    const candidates = await em.execute<{ user_id: string }[]>(
      `select distinct r.user_id from usage_records r
       where r.period_start <= ? and r.invoice_id is null
         and not exists (select 1 from invoices i where i.user_id = r.user_id and i.period_start = ?)`,
      [periodStart, periodStart],
    );
    for (const { user_id } of candidates) {
      try {
        await this.buildInvoice(em.fork(), user_id, periodStart);
        await clearBillingFailure(em.fork(), user_id, periodStart);
      } catch (err) {
        if (isDependencyUnavailable(err)) throw err;
        await this.failed(em, user_id, periodStart, BillingStage.BUILD, err);
      }
    }

    if (this.options.payments) {
      const unsent = await em.fork().find(Invoice, { periodStart, sentToStripe: false, status: InvoiceStatus.DRAFT });
      for (const invoice of unsent) await this.send(em.fork(), invoice.id);
    }
    return em.fork().find(Invoice, { periodStart }, { orderBy: { number: 'asc' } });
  }

  /** Admins: the consumers whose invoice for the period failed and is not made yet, and why. */
  async failures(ctx: ServiceContext, periodStart: Date | string): Promise<BillingFailure[]> {
    requireRole(ctx.caller, [Role.ADMIN], { scope: ApiKeyScope.BILLING_READ });
    return billingFailuresOf(ctx.em, parsePeriodStart(periodStart));
  }

  private async failed(em: EntityManager, userId: string, periodStart: string, stage: BillingStage, err: unknown) {
    this.options.logger?.error(
      { err, userId, periodStart, stage },
      'a consumer’s invoice failed; the others go on and the next close retries it',
    );
    await recordBillingFailure(em.fork(), { userId, periodStart, stage, err, at: this.now() });
  }

  private async buildInvoice(em: EntityManager, userId: string, periodStart: string): Promise<void> {
    await em.transactional(async (tx) => {
      await tx.execute('select pg_advisory_xact_lock(?)', [INVOICE_LOCK_KEY]);
      if (await tx.count(Invoice, { user: userId, periodStart })) return;
      const [{ next }] = (await tx.execute<{ next: number }[]>(
        'select coalesce(max(number), 0) + 1 as next from invoices',
      )) as [{ next: number }];
      const now = this.now();
      const invoice = tx.create(Invoice, {
        user: tx.getReference(User, userId),
        number: next,
        periodStart,
        periodEnd: periodEndOf(periodStart),
        status: InvoiceStatus.DRAFT,
        subtotal: '0',
        total: '0',
        createdAt: now,
        updatedAt: now,
      });
      await tx.flush();
      const claimed = await tx.execute(CLAIM_SQL, [invoice.id, userId, periodStart]);
      if (claimed.length === 0) {
        tx.remove(invoice);
        return;
      }
      await tx.execute(LINES_SQL, [invoice.id]);
      const [sums] = (await tx.execute<{ total: string; currency: string | null }[]>(
        `select coalesce(sum(amount), 0)::text as total,
           (select min(currency) from usage_records where invoice_id = ?) as currency
         from invoice_lines where invoice_id = ?`,
        [invoice.id, invoice.id],
      )) as [{ total: string; currency: string | null }];
      invoice.subtotal = sums.total;
      invoice.total = sums.total;
      invoice.currency = sums.currency ?? invoice.currency;
      if (compareMoney(sums.total, '0') === 0) {
        // Nothing to collect (all free): settled at once, never sent (Stripe would do the same).
        invoice.status = InvoiceStatus.PAID;
        invoice.finalizedAt = now;
        invoice.paidAt = now;
      } else if (!this.options.payments) {
        // Local billing: the invoice is final and due; `sentToStripe` stays false.
        invoice.status = InvoiceStatus.OPEN;
        invoice.finalizedAt = now;
        invoice.dueAt = new Date(now.getTime() + this.options.daysUntilDue * 86_400_000);
      }
    });
  }

  /** Sends one DRAFT invoice through the payments gateway; failures leave it for the next run. */
  private async send(em: EntityManager, invoiceId: string): Promise<void> {
    const payments = this.options.payments!;
    const invoice = await em.findOneOrFail(Invoice, invoiceId, { populate: ['user'] });
    const lines = await em.find(InvoiceLine, { invoice: invoiceId }, { orderBy: { description: 'asc', id: 'asc' } });
    const user = invoice.user;
    try {
      const sent = await payments.sendInvoice(
        {
          invoiceId,
          number: formatInvoiceNumber(invoice.number, invoice.periodStart),
          periodStart: invoice.periodStart,
          periodEnd: invoice.periodEnd,
          currency: invoice.currency,
          customer: {
            userId: user.id,
            email: user.email,
            name: user.displayName,
            stripeCustomerId: user.stripeCustomerId ?? null,
          },
          lines: lines.map((l) => ({
            id: l.id,
            description: l.description,
            billableRequests: l.billableRequests,
            unitPrice: l.unitPrice,
            amount: l.amount,
          })),
        },
        async (stripeInvoiceId) => {
          await em.nativeUpdate(Invoice, { id: invoiceId }, { stripeInvoiceId });
        },
      );
      await em.nativeUpdate(User, { id: user.id, stripeCustomerId: null }, { stripeCustomerId: sent.stripeCustomerId });
      await em.nativeUpdate(
        Invoice,
        { id: invoiceId },
        {
          sentToStripe: true,
          stripeInvoiceId: sent.stripeInvoiceId,
          hostedInvoiceUrl: sent.hostedInvoiceUrl,
          finalizedAt: sent.finalizedAt,
          dueAt: sent.dueAt,
        },
      );
      // Only forward: a webhook may already have moved it further (invoice-status.ts).
      await em.nativeUpdate(
        Invoice,
        { id: invoiceId, status: { $in: statusesBelow(sent.status) } },
        { status: sent.status, ...(sent.status === InvoiceStatus.PAID ? { paidAt: this.now() } : {}) },
      );
      await clearBillingFailure(em, user.id, invoice.periodStart);
    } catch (err) {
      if (isDependencyUnavailable(err)) throw err;
      await this.failed(em, user.id, invoice.periodStart, BillingStage.SEND, err);
    }
  }

  /** The caller's invoices, newest first; admins may pass `userId` to read anyone's. */
  async list(ctx: ServiceContext, args: { first?: number | null; after?: string | null; userId?: string | null }) {
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.BILLING_READ });
    const userId = args.userId && caller.role === Role.ADMIN ? args.userId : caller.userId;
    if (args.userId && args.userId !== caller.userId && caller.role !== Role.ADMIN) {
      throw forbidden(AuthFailure.ROLE_REQUIRED, { requiredRoles: [Role.ADMIN] });
    }
    const limit = pageSize(args.first, this.options.maxPageSize);
    const after = args.after ? Number(decodeCursor(args.after, 'invoice', 1)[0]) : null;
    const where = { user: userId, ...(after !== null ? { number: { $lt: after } } : {}) };
    const rows = await ctx.em.find(Invoice, where, { orderBy: { number: 'desc' }, limit: limit + 1 });
    return toPage(
      rows,
      limit,
      (i) => encodeCursor('invoice', [i.number]),
      () => ctx.em.count(Invoice, { user: userId }),
      after !== null,
    ) satisfies Page<Invoice>;
  }

  /** One invoice: its consumer's own, or any for an admin (others get NOT_FOUND, not FORBIDDEN). */
  async get(ctx: ServiceContext, id: string): Promise<Invoice> {
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.BILLING_READ });
    const invoice = /^[0-9a-f-]{36}$/i.test(id) ? await ctx.em.findOne(Invoice, id) : null;
    if (!invoice || (invoice.user.id !== caller.userId && caller.role !== Role.ADMIN)) throw notFound('Invoice');
    return invoice;
  }

  /** The lines of several invoices in one query (the GraphQL `lines` loader batches through it). */
  /** An invoice's lines, for `Invoice.lines`: a page of invoices costs one query for all of them. */
  lines(ctx: BatchingContext, invoiceId: string): Promise<InvoiceLine[]> {
    return ctx.requestLoaders
      .get(LINES, async (ids) => {
        const rows = await this.linesOf(ctx.em, [...ids]);
        return ids.map((id) => rows.filter((l) => l.invoice.id === id));
      })
      .load(invoiceId);
  }

  linesOf(em: EntityManager, invoiceIds: string[]): Promise<InvoiceLine[]> {
    return em.find(InvoiceLine, { invoice: invoiceIds }, { orderBy: { description: 'asc', id: 'asc' } });
  }
}
