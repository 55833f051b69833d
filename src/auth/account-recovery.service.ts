import type { EntityManager } from '@mikro-orm/postgresql';
import { AccountTokenPurpose } from '../entities/enums.js';
import { User } from '../entities/user.entity.js';
import { MAIL_TEMPLATES, type RenderedMail } from '../mail/mail-templates.js';
import type { MailOutbox } from '../mail/mail-outbox.js';
import { badInput } from '../shared/errors.js';
import type { ServiceContext } from '../shared/service-context.js';
import { requireUser } from './access.js';
import { normalizeEmail } from './account-email.js';
import type { AccountTokens } from './account-tokens.js';
import { AuthFailure, unauthenticated } from './auth.errors.js';
import { assertPasswordPolicy, PASSWORD_MAX_LENGTH, type PasswordHasher } from './password.js';
import type { RefreshTokenService } from './refresh-token.service.js';

const VERIFY_TTL_MS = 24 * 3_600_000;
const RESET_TTL_MS = 60 * 60_000;
/** At most one verification mail per account a minute, one reset mail per 5 minutes. */
const VERIFY_WINDOW_MS = 60_000;
const RESET_WINDOW_MS = 5 * 60_000;

export type RecoveryDeps = {
  tokens: AccountTokens;
  outbox: MailOutbox;
  passwords: PasswordHasher;
  refreshTokens: Pick<RefreshTokenService, 'revokeAllOf'>;
  /** Where mailed links point: `<base>/verify-email?token=…`, `<base>/reset-password?token=…`. */
  linkBaseUrl: string;
  /** An account's sessions may have changed (its password did): forget cached status. */
  onSessionsRevoked?: (userId: string) => void;
};

const windowOf = (ms: number) => Math.floor(Date.now() / ms);

/**
 * Proving an address and getting an account back: the verification link `register` mails,
 * password reset by mailed link, and changing a password. Every mail goes through the outbox in
 * the transaction of its cause. A reset or change ends every session (refresh token) of the
 * account; `requestPasswordReset` answers the same whether or not the address has an account.
 */
export class AccountRecoveryService {
  constructor(private readonly deps: RecoveryDeps) {}

  /** Mails `user` a verification link (inside the caller's transaction); false when one went out in this window. */
  sendVerification(em: EntityManager, user: Pick<User, 'id' | 'email' | 'displayName'>): Promise<boolean> {
    return this.mailLink(em, user, AccountTokenPurpose.VERIFY_EMAIL, (token) =>
      MAIL_TEMPLATES.verifyEmail({
        displayName: user.displayName,
        url: `${this.deps.linkBaseUrl}/verify-email?token=${token}`,
        hours: VERIFY_TTL_MS / 3_600_000,
      }),
    );
  }

  /**
   * A new token for `purpose` and the mail carrying it, in the caller's transaction. A mail
   * deduplicated within its window takes its token back: that token would never reach anyone.
   */
  private async mailLink(
    em: EntityManager,
    user: Pick<User, 'id' | 'email'>,
    purpose: AccountTokenPurpose,
    render: (token: string) => RenderedMail,
  ): Promise<boolean> {
    const verify = purpose === AccountTokenPurpose.VERIFY_EMAIL;
    const { id, token } = await this.deps.tokens.issue(em, user.id, purpose, verify ? VERIFY_TTL_MS : RESET_TTL_MS);
    const added = await this.deps.outbox.add(em, {
      to: user.email,
      template: verify ? 'verifyEmail' : 'resetPassword',
      dedupeKey: `${verify ? 'verify' : 'reset'}:${user.id}:${windowOf(verify ? VERIFY_WINDOW_MS : RESET_WINDOW_MS)}`,
      ...render(token),
    });
    if (!added) await em.execute('delete from account_tokens where id = ?', [id]);
    return added;
  }

  /** Sends now what the transaction that just committed put in the outbox. */
  committed(): void {
    this.deps.outbox.committed();
  }

  /** @throws AppError BAD_USER_INPUT (TOKEN_INVALID) */
  async verifyEmail(ctx: ServiceContext, token: string): Promise<User> {
    const userId = await ctx.em.transactional(async (tx) => {
      const id = await this.deps.tokens.consume(tx, token, AccountTokenPurpose.VERIFY_EMAIL);
      await tx.execute('update users set email_verified_at = coalesce(email_verified_at, now()) where id = ?', [id]);
      return id;
    });
    return ctx.em.findOneOrFail(User, { id: userId }, { refresh: true });
  }

  /** Mails the signed-in user a new link (once a minute); false when already verified or just sent. */
  async resendVerification(ctx: ServiceContext): Promise<boolean> {
    const caller = requireUser(ctx.caller, { allowApiKey: false });
    const sent = await ctx.em.transactional(async (tx) => {
      const user = await tx.findOne(User, { id: caller.userId, deletedAt: null });
      if (!user || user.emailVerifiedAt) return false;
      return this.sendVerification(tx, user);
    });
    if (sent) this.deps.outbox.committed();
    return sent;
  }

  /** Always true, whether or not the address has an account (no oracle); at most one mail per 5 minutes. */
  async requestPasswordReset(ctx: ServiceContext, emailInput: string): Promise<boolean> {
    const email = normalizeEmail(emailInput);
    if (email.length > 320) return true;
    const sent = await ctx.em.transactional(async (tx) => {
      const user = await tx.findOne(User, { email, deletedAt: null });
      if (!user) return false;
      return this.mailLink(tx, user, AccountTokenPurpose.RESET_PASSWORD, (token) =>
        MAIL_TEMPLATES.resetPassword({
          displayName: user.displayName,
          url: `${this.deps.linkBaseUrl}/reset-password?token=${token}`,
          minutes: RESET_TTL_MS / 60_000,
        }),
      );
    });
    if (sent) this.deps.outbox.committed();
    return true;
  }

  /**
   * Sets a new password from a mailed reset link, which also proves the address; ends every
   * session. A new password that breaks the policy leaves the link unused.
   * @throws AppError BAD_USER_INPUT (TOKEN_INVALID, or the password policy's reason)
   */
  async resetPassword(ctx: ServiceContext, token: string, newPassword: string): Promise<boolean> {
    await ctx.em.transactional(async (tx) => {
      const userId = await this.deps.tokens.consume(tx, token, AccountTokenPurpose.RESET_PASSWORD);
      const user = await tx.findOneOrFail(User, { id: userId });
      assertPasswordPolicy(newPassword, { email: user.email });
      await this.setPassword(tx, user, newPassword, `reset:${token.slice(-12)}`);
      await tx.execute('update users set email_verified_at = coalesce(email_verified_at, now()) where id = ?', [
        userId,
      ]);
    });
    this.deps.outbox.committed();
    return true;
  }

  /**
   * The signed-in user's new password, given the current one (access tokens only: an API key
   * cannot change its owner's password). Ends every session but the access token in hand.
   * @throws AppError BAD_USER_INPUT (currentPassword: INVALID_CREDENTIALS; the policy's reasons)
   */
  async changePassword(ctx: ServiceContext, currentPassword: string, newPassword: string): Promise<boolean> {
    const caller = requireUser(ctx.caller, { allowApiKey: false });
    const user = await ctx.em.findOne(User, { id: caller.userId, deletedAt: null }, { populate: ['passwordHash'] });
    if (!user) throw unauthenticated(AuthFailure.ACCOUNT_NOT_FOUND);
    const ok = await this.deps.passwords.verify(user.passwordHash, currentPassword.slice(0, PASSWORD_MAX_LENGTH * 4));
    if (!ok) {
      throw badInput('The current password is not right', { field: 'currentPassword', reason: 'INVALID_CREDENTIALS' });
    }
    assertPasswordPolicy(newPassword, { email: user.email });
    await ctx.em.transactional((tx) => this.setPassword(tx, user, newPassword, `change:${Date.now()}`));
    this.deps.outbox.committed();
    return true;
  }

  private async setPassword(tx: EntityManager, user: User, password: string, cause: string): Promise<void> {
    await tx.nativeUpdate(User, { id: user.id }, { passwordHash: await this.deps.passwords.hash(password) });
    await this.deps.refreshTokens.revokeAllOf(tx, user.id);
    await this.deps.outbox.add(tx, {
      to: user.email,
      template: 'passwordChanged',
      dedupeKey: `password-changed:${user.id}:${cause}`,
      ...MAIL_TEMPLATES.passwordChanged({ displayName: user.displayName }),
    });
    this.deps.onSessionsRevoked?.(user.id);
  }
}
