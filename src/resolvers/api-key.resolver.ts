import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { ApiKeyService } from '../auth/api-key.service.js';
import type { GraphQLContext } from '../graphql/context.js';
import { ApiKeyType, CreateApiKeyInput, CreatedApiKeyType } from './types/api-key.type.js';

/** API keys are managed with an access token only: a key cannot mint, list or rotate keys. */
@Resolver(() => ApiKeyType)
export class ApiKeyResolver {
  constructor(private readonly service: ApiKeyService) {}

  @Authorized()
  @Mutation(() => CreatedApiKeyType)
  createApiKey(@Ctx() ctx: GraphQLContext, @Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput) {
    return this.service.create(ctx, input);
  }

  @Authorized()
  @Query(() => [ApiKeyType], {
    description: "Your API keys that aren't revoked (expired ones included), newest first.",
  })
  apiKeys(@Ctx() ctx: GraphQLContext) {
    return this.service.list(ctx);
  }

  @Authorized()
  @Mutation(() => ApiKeyType, { description: 'Stops the key working at once. Idempotent.' })
  revokeApiKey(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return this.service.revoke(ctx, id);
  }

  @Authorized()
  @Mutation(() => CreatedApiKeyType, {
    description: 'A new secret with the same name, scopes and expiry; the old one stops working.',
  })
  rotateApiKey(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return this.service.rotate(ctx, id);
  }
}
