import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchema, type BuildSchemaOptions, type ContainerType, type PubSub, type ResolverData } from 'type-graphql';
import { ModelFieldsResolver } from '../resolvers/model-fields.resolver.js';
import { ModelVersionFieldsResolver } from '../resolvers/model-version-fields.resolver.js';
import { ModelResolver } from '../resolvers/model.resolver.js';
import { ReviewFieldsResolver } from '../resolvers/review-fields.resolver.js';
import { ModelMutationResolver } from '../resolvers/model-mutation.resolver.js';
import { VersionResolver } from '../resolvers/version.resolver.js';
import {
  registerVersionSubscriptions,
  VersionSubscriptionResolver,
} from '../resolvers/version-subscription.resolver.js';
import { ReviewResolver } from '../resolvers/review.resolver.js';
import type { Services } from '../services.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import { ApiKeyResolver } from '../resolvers/api-key.resolver.js';
import { AuthResolver, UserAccountFieldsResolver } from '../resolvers/auth.resolver.js';
import { authChecker } from './auth-checker.js';
import { PredictionResolver } from '../resolvers/prediction.resolver.js';
import { PredictionFieldsResolver } from '../resolvers/prediction-fields.resolver.js';
import { PredictionJobResolver } from '../resolvers/prediction-job.resolver.js';
import { WebhookSecretResolver } from '../resolvers/webhook-secret.resolver.js';
import { registerUsageSubscriptions, UsageSubscriptionResolver } from '../resolvers/usage-subscription.resolver.js';
import { PredictionJobFieldsResolver } from '../resolvers/prediction-job-fields.resolver.js';
import {
  PredictionSubscriptionResolver,
  registerPredictionSubscriptions,
} from '../resolvers/prediction-subscription.resolver.js';
import { UsageResolver } from '../resolvers/usage.resolver.js';
import { InvoiceResolver } from '../resolvers/invoice.resolver.js';
import { EarningsResolver } from '../resolvers/earnings.resolver.js';
import { AnalyticsResolver } from '../resolvers/analytics.resolver.js';
import { SpendingCapResolver } from '../resolvers/spending-cap.resolver.js';
import { BatchPredictionResolver, registerBatchSubscriptions } from '../resolvers/batch-prediction.resolver.js';
import { registerUsageAlertSubscriptions, UsageAlertResolver } from '../resolvers/usage-alert.resolver.js';

type Built = { services: Services; maxPageSize: number };

/**
 * Every resolver class with how to build it from the services: the one list the schema and the
 * container both read. Resolvers get their services through their constructors (no DI framework).
 */
const RESOLVERS = [
  [
    AuthResolver,
    (b: Built) => new AuthResolver(b.services.auth.accounts, b.services.auth.recovery, b.services.auth.deletion),
  ],
  [UserAccountFieldsResolver, () => new UserAccountFieldsResolver()],
  [ApiKeyResolver, (b: Built) => new ApiKeyResolver(b.services.auth.apiKeys)],
  [ModelResolver, (b: Built) => new ModelResolver(b.services.models)],
  [ModelFieldsResolver, (b: Built) => new ModelFieldsResolver(b.maxPageSize)],
  [ModelVersionFieldsResolver, () => new ModelVersionFieldsResolver()],
  [ReviewFieldsResolver, () => new ReviewFieldsResolver()],
  [ModelMutationResolver, (b: Built) => new ModelMutationResolver(b.services.modelWrites)],
  [VersionResolver, (b: Built) => new VersionResolver(b.services.versions)],
  [VersionSubscriptionResolver, () => new VersionSubscriptionResolver()],
  [ReviewResolver, (b: Built) => new ReviewResolver(b.services.reviews)],
  [PredictionResolver, (b: Built) => new PredictionResolver(b.services.predictions)],
  [PredictionFieldsResolver, () => new PredictionFieldsResolver()],
  [PredictionJobResolver, (b: Built) => new PredictionJobResolver(b.services.predictionJobs, b.maxPageSize)],
  [PredictionJobFieldsResolver, (b: Built) => new PredictionJobFieldsResolver(b.services.predictionJobs)],
  [PredictionSubscriptionResolver, () => new PredictionSubscriptionResolver()],
  [BatchPredictionResolver, (b: Built) => new BatchPredictionResolver(b.services.batchPredictions)],
  [WebhookSecretResolver, (b: Built) => new WebhookSecretResolver(b.services.webhookSecrets)],
  [UsageSubscriptionResolver, () => new UsageSubscriptionResolver()],
  [UsageResolver, (b: Built) => new UsageResolver(b.services.billing.usage)],
  [InvoiceResolver, (b: Built) => new InvoiceResolver(b.services.billing.invoices)],
  [EarningsResolver, (b: Built) => new EarningsResolver(b.services.billing.earnings)],
  [AnalyticsResolver, (b: Built) => new AnalyticsResolver(b.services.billing.analytics)],
  [SpendingCapResolver, (b: Built) => new SpendingCapResolver(b.services.billing.spendingCaps)],
  [UsageAlertResolver, (b: Built) => new UsageAlertResolver(b.services.usageAlerts.alerts)],
] as const;

/** One instance per resolver class, built on first use (a schema built only to print has none). */
function containerFor(built: Built | undefined): ContainerType {
  const factories = new Map<unknown, (b: Built) => object>(RESOLVERS);
  const instances = new Map<unknown, object>();
  return {
    get(someClass: unknown, _data: ResolverData<object>) {
      let instance = instances.get(someClass);
      if (instance) return instance;
      const build = factories.get(someClass);
      if (!build) throw new Error(`No resolver registered for ${String(someClass)}`);
      if (!built) throw new Error('this schema was built without services (schema emission only)');
      instance = build(built);
      instances.set(someClass, instance);
      return instance;
    },
  };
}

/**
 * type-graphql insists on a pubSub once any subscription exists, though every subscription here
 * brings its own `subscribe` (the event bus's iterators, whose `return()` unsubscribes at once:
 * src/subscriptions/event-bus.ts). This one refuses, so a `topics` subscription added later fails
 * loudly instead of bypassing the bus.
 */
const NO_TOPICS: PubSub = {
  publish: () => {
    throw new Error('publish through the event bus (src/subscriptions/event-bus.ts), not type-graphql topics');
  },
  subscribe: () => {
    throw new Error('subscriptions here pass their own `subscribe`; type-graphql topics are not wired');
  },
};

/**
 * The executable schema over the app's services. Without services (`npm run schema`) it is the
 * same schema, printable, whose resolvers refuse to run.
 */
export async function createSchema(
  services: Services | undefined,
  options: { maxPageSize: number; events?: EventBus },
): Promise<GraphQLSchema> {
  const built = services && { services, maxPageSize: options.maxPageSize };
  const schema = await buildSchema({
    resolvers: RESOLVERS.map(([resolver]) => resolver) as unknown as BuildSchemaOptions['resolvers'],
    container: containerFor(built),
    // `@Authorized(...roles and scopes)`: see src/graphql/auth-checker.ts.
    authChecker,
    pubSub: NO_TOPICS,
    validate: false,
    // Dates go out as RFC 3339 strings in UTC (`DateTime`, the name front ends expect).
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
  });
  if (services && options.events) {
    registerVersionSubscriptions(schema, services.versions);
    registerPredictionSubscriptions(schema, services.predictionJobs);
    registerBatchSubscriptions(schema, services.batchPredictions);
    registerUsageAlertSubscriptions(schema, services.usageAlerts.alerts);
    registerUsageSubscriptions(schema, services.billing.usage, options.events);
  }
  return schema;
}
