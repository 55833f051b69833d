import type { EntityManager } from '@mikro-orm/postgresql';
import { ownsOrAdmin, requireRole, requireUser } from '../auth/access.js';
import { loaderKind, type BatchingContext } from '../shared/request-loaders.js';
import { ApiKeyScope, Role } from '../entities/enums.js';
import { User } from '../entities/user.entity.js';
import { badInput } from '../shared/errors.js';
import { decodeCursor, encodeCursor, pageSize, toPage, type Page } from '../shared/pagination.js';
import type { ServiceContext } from '../shared/service-context.js';
import { UUID } from '../shared/ids.js';
import { periodStartOf } from './billing-period.js';
import { addMoney, compareMoney, formatMoney, parseMoneyInput, subtractMoney } from './money.js';
import { ENSURE_MONTH_SQL } from './spend-cap.sql.js';

/** A consumer's monthly cap and where this month stands against it (exact decimal strings). */
export type SpendingCapStatus = {
  limit: string;
  /** What this month's metered predictions cost. */
  spent: string;
  /** What queued jobs accepted under the cap hold until they end. */
  reserved: string;
  /** limit − spent − reserved, never below 0: the most the next requests may cost. */
  remaining: string;
  /** The UTC month these figures are for (`YYYY-MM-DD`). */
  periodStart: string;
};

type CapRow = { id: string; cap: string | null; spent: string | null; reserved: string | null };

/**
 * Consumers' monthly spending caps: reading and setting one's own, and the admins' list of who
 * is capped. The cap itself is enforced by metering (metering.service.ts); setting it applies to
 * requests accepted from then on (a queued job accepted before keeps running).
 */
const CAPS = loaderKind<string, SpendingCapStatus | null>('spending caps');

export class SpendingCapService {
  constructor(private readonly options: { maxSpendingCap: string; maxPageSize: number; now?: () => Date }) {}

  private period(): string {
    return periodStartOf(this.options.now?.() ?? new Date());
  }

  /**
   * Sets (or, with null, removes) the caller's cap. Access tokens only: an API key made to run
   * predictions must not be able to lift the limit that bounds what a leak of it costs.
   *
   * @throws AppError BAD_USER_INPUT (not a decimal, negative, above SPENDING_CAP_MAX).
   */
  async set(ctx: ServiceContext, amount: string | null): Promise<User> {
    const caller = requireUser(ctx.caller, { allowApiKey: false });
    const cap = amount === null ? null : parseMoneyInput(amount, { field: 'amount', max: this.options.maxSpendingCap });
    await ctx.em.nativeUpdate(User, { id: caller.userId }, { monthlySpendCap: cap });
    // The metering statement locks this row to check the cap: it must exist before it is needed.
    if (cap !== null) await ctx.em.execute(ENSURE_MONTH_SQL, [caller.userId, this.period()]);
    return ctx.em.findOneOrFail(User, { id: caller.userId }, { refresh: true });
  }

  /** Caps and this month's figures for several users in one query (null: no cap). */
  /**
   * A user's cap for `User.spendingCap`: their own, or anyone's for an admin; null for others and
   * for users without one. An API key needs `billing:read`. A page of users costs one query.
   */
  async capOf(ctx: BatchingContext, userId: string): Promise<SpendingCapStatus | null> {
    if (!ownsOrAdmin(ctx.caller, userId)) return null;
    requireUser(ctx.caller, { scope: ApiKeyScope.BILLING_READ });
    const loader = ctx.requestLoaders.get(CAPS, async (ids) => {
      const byId = await this.statusOf(ctx.em, ids);
      return ids.map((id) => byId.get(id) ?? null);
    });
    return loader.load(userId);
  }

  async statusOf(em: EntityManager, userIds: readonly string[]): Promise<Map<string, SpendingCapStatus | null>> {
    const period = this.period();
    const ids = userIds.filter((id) => UUID.test(id));
    const rows = ids.length
      ? await em.execute<CapRow[]>(
          `select u.id, u.monthly_spend_cap::text as cap, ms.spent::text as spent, ms.reserved::text as reserved
           from users u left join monthly_spend ms on ms.user_id = u.id and ms.period_start = ?
           where u.id in (${ids.map(() => '?').join(', ')})`,
          [period, ...ids],
        )
      : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return new Map(userIds.map((id) => [id, toStatus(byId.get(id), period)]));
  }

  /** Admins: the users who have a cap, by id (keyset pages). */
  async listCapped(ctx: ServiceContext, args: { first?: number | null; after?: string | null }): Promise<Page<User>> {
    requireRole(ctx.caller, [Role.ADMIN], { scope: ApiKeyScope.BILLING_READ });
    const limit = pageSize(args.first, this.options.maxPageSize);
    const after = args.after ? String(decodeCursor(args.after, 'capped', 1)[0]) : null;
    if (after !== null && !UUID.test(after)) throw badInput('Invalid cursor', { field: 'after' });
    const where = { monthlySpendCap: { $ne: null }, deletedAt: null };
    const rows = await ctx.em.find(User, after ? { ...where, id: { $gt: after } } : where, {
      orderBy: { id: 'asc' },
      limit: limit + 1,
    });
    return toPage(
      rows,
      limit,
      (u) => encodeCursor('capped', [u.id]),
      () => ctx.em.count(User, where),
      after !== null,
    );
  }
}

function toStatus(row: CapRow | undefined, periodStart: string): SpendingCapStatus | null {
  if (!row || row.cap === null) return null;
  const limit = formatMoney(row.cap);
  const spent = formatMoney(row.spent ?? '0');
  const reserved = formatMoney(row.reserved ?? '0');
  const left = subtractMoney(limit, addMoney(spent, reserved));
  return { limit, spent, reserved, remaining: compareMoney(left, '0') < 0 ? '0.00' : left, periodStart };
}
