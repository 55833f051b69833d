import { Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context.js';
import type { WebhookSecretService } from '../webhooks/webhook-secret.service.js';

@Resolver()
export class WebhookSecretResolver {
  constructor(private readonly secrets: WebhookSecretService) {}

  @Authorized()
  @Query(() => String, {
    description:
      'Your `whsec_` secret: verify the `webhook-signature` of the webhooks you receive with it (Standard Webhooks). Access tokens only.',
  })
  webhookSecret(@Ctx() ctx: GraphQLContext): Promise<string> {
    return this.secrets.get(ctx);
  }

  @Authorized()
  @Mutation(() => String, {
    description: 'Replaces your webhook secret and returns the new one; deliveries from now on are signed with it.',
  })
  rotateWebhookSecret(@Ctx() ctx: GraphQLContext): Promise<string> {
    return this.secrets.rotate(ctx);
  }
}
