import type { EntityManager } from '@mikro-orm/postgresql';
import { requireUser } from '../auth/access.js';
import { UsageAlert } from '../entities/usage-alert.entity.js';
import { ApiKeyScope } from '../entities/enums.js';
import { badInput, notFound } from '../shared/errors.js';
import { UUID } from '../shared/ids.js';
import type { ServiceContext } from '../shared/service-context.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import type { UsageAlertEventPayload } from '../subscriptions/topics.js';
import { compareMoney, parseMoneyInput } from './money.js';

export type UsageAlertInput = { percentOfCap?: number | null; amount?: string | null; webhookUrl?: string | null };

/** The most alerts one consumer keeps: enough for 50/80/100 % and a few amounts. */
export const MAX_ALERTS = 20;

/**
 * A consumer's usage alerts: set, list, delete, and follow them firing (`usageAlert`). The
 * evaluation is usage-alert-evaluator.ts. Alerts belong to the signed-in consumer (API keys need
 * `billing:read`).
 */
export class UsageAlertService {
  constructor(
    private readonly deps: {
      maxAmount: string;
      events: Pick<EventBus, 'subscribe'>;
      /** Refuses a webhook URL that could not be delivered to (the SSRF guard's rules). */
      checkWebhookUrl: (url: string) => Promise<void>;
    },
  ) {}

  async list(ctx: ServiceContext): Promise<UsageAlert[]> {
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.BILLING_READ });
    return ctx.em.find(UsageAlert, { user: caller.userId }, { orderBy: { createdAt: 'asc' } });
  }

  /** @throws AppError BAD_USER_INPUT (neither or both thresholds, out of range, a bad webhook URL, too many) */
  async create(ctx: ServiceContext, input: UsageAlertInput): Promise<UsageAlert> {
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.BILLING_READ });
    const hasPercent = input.percentOfCap !== null && input.percentOfCap !== undefined;
    const hasAmount = input.amount !== null && input.amount !== undefined;
    if (hasPercent === hasAmount) throw badInput('Give exactly one of percentOfCap and amount', { field: 'input' });
    if (hasPercent && (!Number.isInteger(input.percentOfCap) || input.percentOfCap! < 1 || input.percentOfCap! > 100)) {
      throw badInput('percentOfCap must be a whole number from 1 to 100', { field: 'percentOfCap' });
    }
    const amount = hasAmount ? parseMoneyInput(input.amount!, { field: 'amount', max: this.deps.maxAmount }) : null;
    if (amount !== null && compareMoney(amount, '0') <= 0)
      throw badInput('amount must be above zero', { field: 'amount' });
    const webhookUrl = input.webhookUrl?.trim() || null;
    if (webhookUrl) await this.deps.checkWebhookUrl(webhookUrl);
    return ctx.em.transactional(async (tx: EntityManager) => {
      // Serialises one consumer's creations, so that the bound holds under concurrency.
      await tx.execute('select id from users where id = ? for update', [caller.userId]);
      if ((await tx.count(UsageAlert, { user: caller.userId })) >= MAX_ALERTS) {
        throw badInput(`At most ${MAX_ALERTS} usage alerts: delete one first`, { field: 'input', max: MAX_ALERTS });
      }
      const alert = tx.create(UsageAlert, {
        user: caller.userId,
        percentOfCap: hasPercent ? input.percentOfCap! : null,
        amount,
        webhookUrl,
      });
      await tx.flush();
      return alert;
    });
  }

  /** NOT_FOUND for an alert that is not the caller's. */
  async delete(ctx: ServiceContext, id: string): Promise<boolean> {
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.BILLING_READ });
    if (!UUID.test(id)) throw notFound('Usage alert');
    const removed = await ctx.em.nativeDelete(UsageAlert, { id, user: caller.userId });
    if (!removed) throw notFound('Usage alert');
    return true;
  }

  /** `usageAlert`: the caller's alerts as they fire. */
  events(ctx: ServiceContext): AsyncIterableIterator<UsageAlertEventPayload> {
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.BILLING_READ });
    return this.deps.events.subscribe('USAGE_ALERTS', caller.userId);
  }
}
