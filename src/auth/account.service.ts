import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { Role } from '../entities/enums.js';
import { User } from '../entities/user.entity.js';
import { AppError, badInput, ErrorCode } from '../shared/errors.js';
import type { ServiceContext } from '../shared/service-context.js';
import type { AccessTokenService } from './access-token.service.js';
import { AuthFailure, unauthenticated } from './auth.errors.js';
import { requireUser } from './access.js';
import { assertPasswordPolicy, PASSWORD_MAX_LENGTH, type PasswordHasher } from './password.js';
import type { RefreshTokenService } from './refresh-token.service.js';
import type { AccountRecoveryService } from './account-recovery.service.js';
import { normalizeEmail } from './account-email.js';

export type AuthResult = { accessToken: string; refreshToken: string; expiresAt: Date; user: User };

export type RegisterInput = { email: string; password: string; displayName: string; role?: Role | null };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export { normalizeEmail } from './account-email.js';

/** Accounts: registration, login, token refresh and logout, and the current user. */
export class AccountService {
  constructor(
    private readonly passwords: PasswordHasher,
    private readonly tokens: AccessTokenService,
    private readonly refreshTokens: RefreshTokenService,
    private readonly recovery: AccountRecoveryService,
  ) {}

  async register(ctx: ServiceContext, input: RegisterInput): Promise<AuthResult> {
    const email = normalizeEmail(input.email);
    if (email.length > 320 || !EMAIL.test(email)) throw badInput('Enter a valid email address', { field: 'email' });
    const displayName = input.displayName.trim();
    if (displayName.length < 1 || displayName.length > 100) {
      throw badInput('`displayName` must be 1 to 100 characters', { field: 'displayName' });
    }
    const role = input.role ?? Role.CONSUMER;
    if (role !== Role.CONSUMER && role !== Role.PUBLISHER) {
      throw badInput('Choose CONSUMER or PUBLISHER; admins are made by an operator', { field: 'role' });
    }
    assertPasswordPolicy(input.password, { email });
    const passwordHash = await this.passwords.hash(input.password);
    let user: User;
    try {
      // The account and its verification mail commit together (the outbox is sent after).
      user = await ctx.em.transactional(async (tx) => {
        const created = tx.create(User, { email, displayName, role, passwordHash });
        await tx.flush();
        await this.recovery.sendVerification(tx, created);
        return created;
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) {
        throw new AppError(ErrorCode.CONFLICT, 'An account with this email already exists', { field: 'email' });
      }
      throw err;
    }
    this.recovery.committed();
    return this.startSession(ctx, ctx.em.merge(user));
  }

  /**
   * One answer for an unknown email, a wrong password and a closed account (INVALID_CREDENTIALS),
   * and the same argon2 work in each case, so neither the message nor the timing tells whether
   * an account exists.
   */
  async login(ctx: ServiceContext, emailInput: string, password: string): Promise<AuthResult> {
    const email = normalizeEmail(emailInput);
    const user = email.length <= 320 ? await ctx.em.findOne(User, { email }, { populate: ['passwordHash'] }) : null;
    const usable = user && !user.deletedAt ? user : null;
    const ok = await this.passwords.verify(usable?.passwordHash, password.slice(0, PASSWORD_MAX_LENGTH * 4));
    if (!ok || !usable) throw unauthenticated(AuthFailure.INVALID_CREDENTIALS);
    return this.startSession(ctx, usable);
  }

  /** Rotates the refresh token (see RefreshTokenService) and issues a fresh access token. */
  async refresh(ctx: ServiceContext, refreshToken: string): Promise<AuthResult> {
    const next = await this.refreshTokens.rotate(ctx.em, refreshToken);
    const access = await this.tokens.issue(next.user);
    return { accessToken: access.token, expiresAt: access.expiresAt, refreshToken: next.token, user: next.user };
  }

  /** Ends the session the refresh token belongs to. Access tokens already out expire on their own. */
  async logout(ctx: ServiceContext, refreshToken: string): Promise<boolean> {
    await this.refreshTokens.revoke(ctx.em, refreshToken);
    return true;
  }

  async me(ctx: ServiceContext): Promise<User> {
    const caller = requireUser(ctx.caller);
    const user = await ctx.em.findOne(User, { id: caller.userId, deletedAt: null });
    if (!user) throw unauthenticated(AuthFailure.INVALID_TOKEN);
    return user;
  }

  private async startSession(ctx: ServiceContext, user: User): Promise<AuthResult> {
    const access = await this.tokens.issue(user);
    const refresh = await this.refreshTokens.issue(ctx.em, user.id);
    return { accessToken: access.token, expiresAt: access.expiresAt, refreshToken: refresh.token, user };
  }
}
