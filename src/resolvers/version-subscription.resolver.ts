import type { GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { Arg, Ctx, ID, Info, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { VersionService } from '../catalog/version.service.js';
import { ModelVersion } from '../entities/model-version.entity.js';
import type { GraphQLContext } from '../graphql/context.js';
import type { TopicPayloads } from '../subscriptions/topics.js';
import { schemaWiring } from './schema-wiring.js';
import { ModelVersionType } from './types/model-version.type.js';

const wiring = schemaWiring<VersionService>('version subscriptions');

export function registerVersionSubscriptions(schema: GraphQLSchema, versions: VersionService): void {
  wiring.register(schema, versions);
}

const wired = (schema: GraphQLSchema): VersionService => wiring.get(schema);

type Payload = TopicPayloads['MODEL_VERSION_STATUS_CHANGED'];

@Resolver(() => ModelVersionType)
export class VersionSubscriptionResolver {
  @Subscription(() => ModelVersionType, {
    description:
      "Status changes of a model's versions (PROCESSING, READY, FAILED, DEPRECATED). Owners and admins see every " +
      'change; others see versions becoming READY on public models.',
    // Our own iterator rather than type-graphql's topics/filter: its `return()` reaches the
    // pub/sub unsubscribe directly (see src/subscriptions/event-bus.ts).
    subscribe: ({ args, context, info }: SubscribeResolverData<unknown, { modelId: string }, GraphQLContext>) => {
      return wired(info.schema).statusEvents(context, String(args.modelId));
    },
  })
  async modelVersionStatusChanged(
    @Root() event: Payload,
    @Ctx() ctx: GraphQLContext,
    @Arg('modelId', () => ID) _modelId: string,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ModelVersion> {
    // One subscription lives for many events: read each with a fresh fork and fresh loader
    // entries, or the operation's identity map and DataLoader caches would replay old state.
    ctx.loaders.model.clear(event.modelId);
    ctx.loaders.version.clear(event.versionId);
    return wired(info.schema).eventVersion(ctx.em, event);
  }
}
