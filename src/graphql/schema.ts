import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchema, type ContainerType, type ResolverData } from 'type-graphql';
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

export const RESOLVERS = [
  AuthResolver,
  UserAccountFieldsResolver,
  ApiKeyResolver,
  ModelResolver,
  ModelFieldsResolver,
  ModelVersionFieldsResolver,
  ReviewFieldsResolver,
  ModelMutationResolver,
  VersionResolver,
  VersionSubscriptionResolver,
  ReviewResolver,
  PredictionResolver,
  PredictionFieldsResolver,
  PredictionJobResolver,
  PredictionJobFieldsResolver,
  PredictionSubscriptionResolver,
  WebhookSecretResolver,
  UsageSubscriptionResolver,
  UsageResolver,
  InvoiceResolver,
  EarningsResolver,
  AnalyticsResolver,
  SpendingCapResolver,
] as const;

/**
 * Resolvers get their services through their constructors; this tiny container hands out one
 * instance per resolver class, built from the app's services (no DI framework needed).
 */
function containerFor(services: Services, maxPageSize: number): ContainerType {
  const instances = new Map<unknown, unknown>([
    [AuthResolver, new AuthResolver(services.auth.accounts)],
    [UserAccountFieldsResolver, new UserAccountFieldsResolver()],
    [ApiKeyResolver, new ApiKeyResolver(services.auth.apiKeys)],
    [ModelResolver, new ModelResolver(services.models)],
    [ModelFieldsResolver, new ModelFieldsResolver(maxPageSize)],
    [ModelVersionFieldsResolver, new ModelVersionFieldsResolver()],
    [ReviewFieldsResolver, new ReviewFieldsResolver()],
    [ModelMutationResolver, new ModelMutationResolver(services.modelWrites)],
    [VersionResolver, new VersionResolver(services.versions)],
    [VersionSubscriptionResolver, new VersionSubscriptionResolver()],
    [ReviewResolver, new ReviewResolver(services.reviews)],
    [PredictionResolver, new PredictionResolver(services.predictions)],
    [PredictionFieldsResolver, new PredictionFieldsResolver()],
    [PredictionJobResolver, new PredictionJobResolver(services.jobs, maxPageSize)],
    [PredictionJobFieldsResolver, new PredictionJobFieldsResolver(services.jobs)],
    [PredictionSubscriptionResolver, new PredictionSubscriptionResolver()],
    [WebhookSecretResolver, new WebhookSecretResolver(services.webhookSecrets)],
    [UsageSubscriptionResolver, new UsageSubscriptionResolver()],
    [UsageResolver, new UsageResolver(services.billing.usage)],
    [InvoiceResolver, new InvoiceResolver(services.billing.invoices)],
    [EarningsResolver, new EarningsResolver(services.billing.earnings)],
    [AnalyticsResolver, new AnalyticsResolver(services.billing.analytics)],
    [SpendingCapResolver, new SpendingCapResolver(services.billing.spendingCaps)],
  ]);
  return {
    get(someClass: unknown, _data: ResolverData<object>) {
      const instance = instances.get(someClass);
      if (!instance) throw new Error(`No resolver instance registered for ${String(someClass)}`);
      return instance;
    },
  };
}

export async function createSchema(services: Services, maxPageSize: number): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: RESOLVERS,
    container: containerFor(services, maxPageSize),
    // `@Authorized(...roles and scopes)`: see src/graphql/auth-checker.ts.
    authChecker,
    // Subscriptions that use type-graphql `topics` publish and subscribe through the app's event bus.
    pubSub: services.events.typeGraphQL,
    validate: false,
    // Dates go out as RFC 3339 strings in UTC (`DateTime`, the name front ends expect).
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
  });
  registerVersionSubscriptions(schema, services.versions);
  registerPredictionSubscriptions(schema, services.jobs, services.events);
  registerUsageSubscriptions(schema, services.billing.usage, services.events);
  return schema;
}
