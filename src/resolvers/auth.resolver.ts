import { Arg, Authorized, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { AccountService } from '../auth/account.service.js';
import type { AccountRecoveryService } from '../auth/account-recovery.service.js';
import type { AccountDeletionService } from '../auth/account-deletion.service.js';
import { ownsOrAdmin } from '../auth/access.js';
import { ApiKeyScope } from '../entities/enums.js';
import type { User } from '../entities/user.entity.js';
import type { GraphQLContext } from '../graphql/context.js';
import { AuthPayloadType, RegisterInput } from './types/auth-payload.type.js';
import { UserType } from './types/user.type.js';

const ANY_SCOPE = Object.values(ApiKeyScope);

/**
 * User rows returned in an AuthPayload belong to whoever just proved who they are, though the
 * request itself came in anonymous. Entities are per-request (one EntityManager fork each), so
 * marking the instance cannot reveal anything to another request.
 */
const justAuthenticated = new WeakSet<object>();
const reveal = async <T extends { user: User }>(result: Promise<T>): Promise<T> => {
  const r = await result;
  justAuthenticated.add(r.user);
  return r;
};

@Resolver()
export class AuthResolver {
  constructor(
    private readonly accounts: AccountService,
    private readonly recovery: AccountRecoveryService,
    private readonly deletion: AccountDeletionService,
  ) {}

  @Mutation(() => AuthPayloadType, { description: 'Creates a CONSUMER or PUBLISHER account and logs it in.' })
  register(@Ctx() ctx: GraphQLContext, @Arg('input', () => RegisterInput) input: RegisterInput) {
    return reveal(this.accounts.register(ctx, input));
  }

  @Mutation(() => AuthPayloadType)
  login(@Ctx() ctx: GraphQLContext, @Arg('email') email: string, @Arg('password') password: string) {
    return reveal(this.accounts.login(ctx, email, password));
  }

  @Mutation(() => AuthPayloadType, {
    description:
      'A new access token and a new refresh token; the one given stops working (reusing it ends the session).',
  })
  refreshToken(@Ctx() ctx: GraphQLContext, @Arg('refreshToken') refreshToken: string) {
    return reveal(this.accounts.refresh(ctx, refreshToken));
  }

  @Mutation(() => Boolean, {
    description: "Ends the refresh token's session (every token rotated from the same login).",
  })
  logout(@Ctx() ctx: GraphQLContext, @Arg('refreshToken') refreshToken: string) {
    return this.accounts.logout(ctx, refreshToken);
  }

  @Mutation(() => UserType, {
    description:
      'Confirms the address with the token from the link `register` (or `resendVerification`) mailed. The link works once, for 24 hours.',
  })
  async verifyEmail(@Ctx() ctx: GraphQLContext, @Arg('token') token: string) {
    const user = await this.recovery.verifyEmail(ctx, token);
    justAuthenticated.add(user);
    return user;
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description:
      'Mails a new verification link (access tokens only). False when the address is verified already or a link went out in the last minute.',
  })
  resendVerification(@Ctx() ctx: GraphQLContext) {
    return this.recovery.resendVerification(ctx);
  }

  @Mutation(() => Boolean, {
    description:
      'Mails a password reset link (valid once, for 60 minutes) if the address has an account. Always true: the answer does not say whether it has.',
  })
  requestPasswordReset(@Ctx() ctx: GraphQLContext, @Arg('email') email: string) {
    return this.recovery.requestPasswordReset(ctx, email);
  }

  @Mutation(() => Boolean, {
    description:
      'Sets a new password with the token from a reset link; ends every session of the account (log in again). The link also confirms the address.',
  })
  resetPassword(@Ctx() ctx: GraphQLContext, @Arg('token') token: string, @Arg('newPassword') newPassword: string) {
    return this.recovery.resetPassword(ctx, token, newPassword);
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description:
      'Changes your password, given the current one (access tokens only); ends every other session (refresh token) and mails you a notice.',
  })
  changePassword(
    @Ctx() ctx: GraphQLContext,
    @Arg('currentPassword') currentPassword: string,
    @Arg('newPassword') newPassword: string,
  ) {
    return this.recovery.changePassword(ctx, currentPassword, newPassword);
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description:
      'Deletes your account for good, given your password (access tokens only): your address, name, keys, sessions, models and their files, review texts and prediction tensors go; invoices and usage records stay. Refused (CONFLICT) while predictions are queued or running. Download your data first: GET /account/export.json.',
  })
  deleteAccount(@Ctx() ctx: GraphQLContext, @Arg('password') password: string) {
    return this.deletion.delete(ctx, password);
  }

  @Authorized(...ANY_SCOPE)
  @Query(() => UserType, { description: 'The signed-in user (an API key: its owner).' })
  me(@Ctx() ctx: GraphQLContext) {
    return this.accounts.me(ctx);
  }
}

/** Account-only fields of User, visible to the user themselves and to admins. */
@Resolver(() => UserType)
export class UserAccountFieldsResolver {
  @FieldResolver(() => String, { nullable: true, description: 'Only for yourself (and admins); null otherwise.' })
  email(@Root() user: User, @Ctx() ctx: GraphQLContext): string | null {
    return ownsOrAdmin(ctx.caller, user.id) || justAuthenticated.has(user) ? (user.email ?? null) : null;
  }

  @FieldResolver(() => Boolean, {
    nullable: true,
    description: 'Whether the address was confirmed (verifyEmail); only for yourself (and admins).',
  })
  emailVerified(@Root() user: User, @Ctx() ctx: GraphQLContext): boolean | null {
    return ownsOrAdmin(ctx.caller, user.id) || justAuthenticated.has(user) ? user.emailVerifiedAt != null : null;
  }
}
