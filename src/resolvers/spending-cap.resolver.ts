import { Arg, Args, Authorized, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { SpendingCapService } from '../billing/spending-cap.service.js';
import { Role } from '../entities/enums.js';
import type { User } from '../entities/user.entity.js';
import type { GraphQLContext } from '../graphql/context.js';
import { PageArgs } from './types/page.args.js';
import { CappedUserConnection, SpendingCap } from './types/spending-cap.type.js';
import { UserType } from './types/user.type.js';

@Resolver(() => UserType)
export class SpendingCapResolver {
  constructor(private readonly caps: SpendingCapService) {}

  @Authorized()
  @Mutation(() => UserType, {
    description:
      'Sets your monthly spending cap (exact decimal, at most SPENDING_CAP_MAX), or removes it with null. Applies to requests accepted from now on. Access tokens only.',
  })
  setSpendingCap(
    @Ctx() ctx: GraphQLContext,
    @Arg('amount', () => String, { nullable: true }) amount: string | null,
  ): Promise<User> {
    return this.caps.set(ctx, amount ?? null);
  }

  @Authorized(Role.ADMIN)
  @Query(() => CappedUserConnection, { description: 'Admins: the users who have a spending cap.' })
  cappedUsers(@Ctx() ctx: GraphQLContext, @Args() page: PageArgs) {
    return this.caps.listCapped(ctx, page);
  }

  @FieldResolver(() => SpendingCap, {
    nullable: true,
    description:
      'Your monthly spending cap (admins: anyone’s); null without one, and for other users. API keys need `billing:read`.',
  })
  async spendingCap(@Root() user: User, @Ctx() ctx: GraphQLContext): Promise<SpendingCap | null> {
    const status = await this.caps.capOf(ctx, user.id);
    if (!status) return null;
    // Caps are set and checked in the platform's currency, which every price is in.
    const money = (amount: string) => ({ amount, currency: 'USD' });
    return {
      limit: money(status.limit),
      spent: money(status.spent),
      reserved: money(status.reserved),
      remaining: money(status.remaining),
      periodStart: status.periodStart,
    };
  }
}
