import type { GraphQLSchema } from 'graphql';

/**
 * What a subscription's `subscribe` needs, found through the schema the operation runs on:
 * type-graphql calls `subscribe` without a resolver instance, and a WeakMap per schema keeps two
 * apps in one process (tests) apart without globals. `register` once when the schema is built.
 */
export function schemaWiring<T>(what: string) {
  const bySchema = new WeakMap<GraphQLSchema, T>();
  return {
    register(schema: GraphQLSchema, value: T): void {
      bySchema.set(schema, value);
    },
    get(schema: GraphQLSchema): T {
      const value = bySchema.get(schema);
      if (value === undefined) throw new Error(`${what} are not registered for this schema`);
      return value;
    },
  };
}
