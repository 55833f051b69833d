import { Arg, Authorized, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { AccountService } from '../auth/account.service.js';
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
  constructor(private readonly accounts: AccountService) {}

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
}
