import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { PredictionStatus } from '../entities/enums.js';
import { User } from '../entities/user.entity.js';
import type { MailOutbox } from '../mail/mail-outbox.js';
import { MAIL_TEMPLATES } from '../mail/mail-templates.js';
import { AppError, badInput, ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { ServiceContext } from '../shared/service-context.js';
import type { ModelStorage } from '../storage/model-storage.js';
import { requireUser } from './access.js';
import { accountExport } from './account-export.js';
import { AuthFailure, unauthenticated } from './auth.errors.js';
import { PASSWORD_MAX_LENGTH, type PasswordHasher } from './password.js';
import type { RefreshTokenService } from './refresh-token.service.js';

export type DeletionDeps = {
  passwords: PasswordHasher;
  refreshTokens: Pick<RefreshTokenService, 'revokeAllOf'>;
  outbox: MailOutbox;
  storage: Pick<ModelStorage, 'delete'>;
  /** Signed-in sessions and keys of the account stop at once (caches forget it). */
  onDeleted: (userId: string, apiKeyIds: string[]) => void;
  logger: Pick<Logger, 'warn'>;
};

/**
 * Closing an account for good, and its data export. Deletion keeps what invoices and publishers'
 * earnings need — the user row (its id, role and Stripe customer), usage records, invoices,
 * the prediction records and their costs — and removes the rest: the address and name (the row
 * is anonymised and the address freed for a new account), the password, API keys and sessions,
 * review texts (their ratings stay in the averages), the tensors of every prediction, alerts,
 * pending tokens; the account's models leave the catalog and their files are deleted after the
 * commit. A notice goes to the old address. Refused while predictions are queued or running, so
 * nothing is billed to an account after it closed.
 */
export class AccountDeletionService {
  constructor(private readonly deps: DeletionDeps) {}

  /** The account's data as JSON text (GET /account/export.json); access tokens only. */
  export(ctx: ServiceContext): AsyncGenerator<string> {
    const caller = requireUser(ctx.caller, { allowApiKey: false });
    return accountExport(ctx.em.fork(), caller.userId);
  }

  /**
   * @throws AppError BAD_USER_INPUT (password: INVALID_CREDENTIALS), CONFLICT (jobs still queued
   *   or running), FORBIDDEN (an API key)
   */
  async delete(ctx: ServiceContext, password: string): Promise<boolean> {
    const caller = requireUser(ctx.caller, { allowApiKey: false });
    const user = await ctx.em.findOne(User, { id: caller.userId, deletedAt: null }, { populate: ['passwordHash'] });
    if (!user) throw unauthenticated(AuthFailure.ACCOUNT_NOT_FOUND);
    if (!(await this.deps.passwords.verify(user.passwordHash, password.slice(0, PASSWORD_MAX_LENGTH * 4)))) {
      throw badInput('The password is not right', { field: 'password', reason: 'INVALID_CREDENTIALS' });
    }
    const { files, apiKeyIds } = await ctx.em.transactional(async (tx) => {
      // Serialises with a job being created for this account (its acceptance reads the row).
      await tx.execute('select id from users where id = ? for update', [user.id]);
      const [open] = await tx.execute<{ n: number }[]>(
        `select count(*)::int as n from predictions where user_id = ? and status in (?, ?)`,
        [user.id, PredictionStatus.QUEUED, PredictionStatus.RUNNING],
      );
      if (open.n > 0) {
        throw new AppError(
          ErrorCode.CONFLICT,
          `${open.n} of your predictions are queued or running: cancel them (or let them finish) first`,
          { reason: 'JOBS_IN_FLIGHT', count: open.n },
        );
      }
      await this.deps.outbox.add(tx, {
        to: user.email,
        template: 'accountDeleted',
        dedupeKey: `account-deleted:${user.id}`,
        ...MAIL_TEMPLATES.accountDeleted({ displayName: user.displayName }),
      });
      return this.erase(tx, user.id);
    });
    this.deps.onDeleted(user.id, apiKeyIds);
    this.deps.outbox.committed();
    // After the commit: a crash here leaves files no row points at, never a row without its file.
    for (const key of files) {
      await this.deps.storage.delete(key).catch((err: unknown) => {
        this.deps.logger.warn({ err, key }, 'a deleted account’s file could not be removed');
      });
    }
    return true;
  }

  /** Every statement of the deletion, in one transaction; returns the files to remove after it, and the keys revoked. */
  private async erase(tx: EntityManager, userId: string): Promise<{ files: string[]; apiKeyIds: string[] }> {
    const apiKeys = await tx.execute<{ id: string }[]>('select id from api_keys where user_id = ?', [userId]);
    const keys = await tx.execute<{ key: string }[]>(
      `select v.storage_key as key from model_versions v join models m on m.id = v.model_id where m.owner_id = ?
       union all select input_key from batch_predictions where user_id = ?
       union all select results_key from batch_predictions where user_id = ? and results_key is not null`,
      [userId, userId, userId],
    );
    const statements: [string, unknown[]][] = [
      [`update models set deleted_at = coalesce(deleted_at, now()) where owner_id = ?`, [userId]],
      [
        `update predictions set inputs = null, outputs = null, data_removed_at = coalesce(data_removed_at, now())
         where user_id = ? and (inputs is not null or outputs is not null)`,
        [userId],
      ],
      [`update reviews set title = '', body = '' where author_id = ?`, [userId]],
      [`update api_keys set revoked_at = coalesce(revoked_at, now()) where user_id = ?`, [userId]],
      [`delete from account_tokens where user_id = ?`, [userId]],
      [`delete from usage_alerts where user_id = ?`, [userId]],
      [
        `update users set email = ?, display_name = 'Deleted user', password_hash = ?, email_verified_at = null,
           webhook_secret = null, monthly_spend_cap = null, deleted_at = now() where id = ?`,
        // The address is freed; what stays unique is this placeholder. The hash matches no password.
        [`deleted-${userId}@deleted.invalid`, `!deleted:${randomBytes(16).toString('hex')}`, userId],
      ],
    ];
    for (const [sql, params] of statements) await tx.execute(sql, params);
    await this.deps.refreshTokens.revokeAllOf(tx, userId);
    return { files: keys.map((k) => k.key), apiKeyIds: apiKeys.map((k) => k.id) };
  }
}
