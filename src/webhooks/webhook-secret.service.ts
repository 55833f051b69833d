import type { EntityManager } from '@mikro-orm/postgresql';
import { requireUser } from '../auth/access.js';
import { User } from '../entities/user.entity.js';
import type { ServiceContext } from '../shared/service-context.js';
import { generateWebhookSecret } from './standard-webhooks.js';

/**
 * The caller's Standard Webhooks signing secret (`whsec_…`): every webhook of theirs is signed
 * with it. Made on first need (the first read or the first delivery, whichever comes first);
 * rotating replaces it at once, so deliveries from then on (retries included) carry the new
 * signature. Access tokens only: an API key cannot read or change it.
 */
export class WebhookSecretService {
  async get(ctx: ServiceContext): Promise<string> {
    const caller = requireUser(ctx.caller, { allowApiKey: false });
    return webhookSecretOf(ctx.em, caller.userId);
  }

  async rotate(ctx: ServiceContext): Promise<string> {
    const caller = requireUser(ctx.caller, { allowApiKey: false });
    const secret = generateWebhookSecret();
    await ctx.em.nativeUpdate(User, { id: caller.userId }, { webhookSecret: secret });
    return secret;
  }
}

/** The user's secret, made on first need (race-safe: the first writer wins, others read it). */
export async function webhookSecretOf(em: EntityManager, userId: string): Promise<string> {
  const read = async () =>
    (await em.findOne(User, { id: userId }, { populate: ['webhookSecret'], refresh: true }))?.webhookSecret ?? null;
  const existing = await read();
  if (existing) return existing;
  await em.nativeUpdate(User, { id: userId, webhookSecret: null }, { webhookSecret: generateWebhookSecret() });
  const made = await read();
  if (!made) throw new Error(`user ${userId} not found`);
  return made;
}
