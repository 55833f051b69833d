import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchema, type ContainerType, type ResolverData } from 'type-graphql';
import { ModelFieldsResolver } from '../resolvers/model-fields.resolver.js';
import { ModelVersionFieldsResolver } from '../resolvers/model-version-fields.resolver.js';
import { ModelResolver } from '../resolvers/model.resolver.js';
import { ReviewFieldsResolver } from '../resolvers/review-fields.resolver.js';
import type { Services } from '../services.js';

export const RESOLVERS = [
  ModelResolver,
  ModelFieldsResolver,
  ModelVersionFieldsResolver,
  ReviewFieldsResolver,
] as const;

/**
 * Resolvers get their services through their constructors; this tiny container hands out one
 * instance per resolver class, built from the app's services (no DI framework needed).
 */
function containerFor(services: Services, maxPageSize: number): ContainerType {
  const instances = new Map<unknown, unknown>([
    [ModelResolver, new ModelResolver(services.models)],
    [ModelFieldsResolver, new ModelFieldsResolver(maxPageSize)],
    [ModelVersionFieldsResolver, new ModelVersionFieldsResolver()],
    [ReviewFieldsResolver, new ReviewFieldsResolver()],
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
  return buildSchema({
    resolvers: RESOLVERS,
    container: containerFor(services, maxPageSize),
    validate: false,
    // Dates go out as RFC 3339 strings in UTC (`DateTime`, the name front ends expect).
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
  });
}
