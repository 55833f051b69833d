import {
  getNamedType,
  isCompositeType,
  Kind,
  valueFromAST,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { DEFAULT_PAGE_SIZE } from '../../shared/pagination.js';
import { limitError, LimitReason } from './limit-errors.js';

/**
 * What an operation may cost before it runs. Each field costs its own weight, then its
 * children's cost times its page size:
 *
 *   cost(field) = weight + (first ?? last ?? default page size, for paginated fields; else 1) × Σ cost(child)
 *
 * weight: the field's `complexity` (type-graphql: `@Field({ complexity: 50 })`,
 * `@Mutation(() => T, { complexity: 100 })`), else 1 for object-typed fields and 0 for scalars.
 * `first` comes from the literal, the variables, or the argument's default. Lists without
 * `first`/`last` count once: they are small by design (tags, tensor specs); anything that can
 * grow is a connection with `first`. Fragments count for every type they could apply to
 * (an upper bound). Introspection is free (off in production, bounded by body size).
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  options: { operationName?: string | null; variables?: Readonly<Record<string, unknown>> | null; stopAbove?: number },
): number {
  return costWithVariables(schema, document, options).cost;
}

/** The cost, and whether any variable went into it (if not, it is the same for every request). */
function costWithVariables(
  schema: GraphQLSchema,
  document: DocumentNode,
  options: { operationName?: string | null; variables?: Readonly<Record<string, unknown>> | null; stopAbove?: number },
): { cost: number; usedVariables: boolean } {
  let usedVariables = false;
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  const operation = options.operationName
    ? operations.find((o) => o.name?.value === options.operationName)
    : operations[0];
  if (!operation) return { cost: 0, usedVariables };
  const root = schema.getRootType(operation.operation);
  if (!root) return { cost: 0, usedVariables };
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const variables = options.variables ?? {};
  const stopAbove = options.stopAbove ?? Number.POSITIVE_INFINITY;

  const pageSizeOf = (field: GraphQLField<unknown, unknown>, node: FieldNode): number | undefined => {
    for (const name of ['first', 'last']) {
      const def = field.args.find((a) => a.name === name);
      if (!def) continue;
      const arg = node.arguments?.find((a) => a.name.value === name);
      if (arg && arg.value.kind === Kind.VARIABLE) usedVariables = true;
      const value = arg ? valueFromAST(arg.value, def.type, variables) : def.defaultValue;
      if (typeof value === 'number' && Number.isFinite(value)) return Math.max(0, value);
      return DEFAULT_PAGE_SIZE;
    }
    return undefined;
  };

  const costOf = (set: SelectionSetNode, parent: GraphQLNamedType, seen: Set<string>): number => {
    let total = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        if (s.name.value.startsWith('__')) continue;
        const field =
          'getFields' in parent
            ? (parent.getFields() as Record<string, GraphQLField<unknown, unknown>>)[s.name.value]
            : undefined;
        if (!field) continue; // unknown field: validation reports it
        const type = getNamedType(field.type);
        const weight =
          typeof field.extensions?.complexity === 'number'
            ? field.extensions.complexity
            : isCompositeType(type)
              ? 1
              : 0;
        const children = s.selectionSet ? costOf(s.selectionSet, type, seen) : 0;
        total += weight + (pageSizeOf(field, s) ?? 1) * children;
      } else {
        const fragment = s.kind === Kind.FRAGMENT_SPREAD ? fragments.get(s.name.value) : s;
        if (!fragment || (s.kind === Kind.FRAGMENT_SPREAD && seen.has(s.name.value))) continue;
        const typeName = fragment.typeCondition?.name.value;
        const target = (typeName ? schema.getType(typeName) : parent) ?? parent;
        const nextSeen = s.kind === Kind.FRAGMENT_SPREAD ? new Set([...seen, s.name.value]) : seen;
        total += costOf(fragment.selectionSet, target, nextSeen);
      }
      if (total > stopAbove) return total;
    }
    return total;
  };

  return { cost: costOf(operation.selectionSet, root, new Set()), usedVariables };
}

/**
 * Costs that no variable changes, per parsed document and operation name. Apollo keeps one
 * DocumentNode per query text in its document store, so a client repeating an operation (the
 * common case: `predict` thousands of times) walks it once; keyed weakly, so entries go with
 * the store's.
 */
const staticCosts = new WeakMap<DocumentNode, Map<string, number>>();

/** GRAPHQL_VALIDATION_FAILED (reason QUERY_TOO_COMPLEX) when the operation costs more than `maxCost`. */
export function assertOperationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  options: { operationName?: string | null; variables?: Readonly<Record<string, unknown>> | null; maxCost: number },
): void {
  const key = options.operationName ?? '';
  let cost = staticCosts.get(document)?.get(key);
  if (cost === undefined) {
    const computed = costWithVariables(schema, document, { ...options, stopAbove: options.maxCost });
    cost = computed.cost;
    if (!computed.usedVariables) {
      const perOperation = staticCosts.get(document) ?? new Map<string, number>();
      perOperation.set(key, cost);
      staticCosts.set(document, perOperation);
    }
  }
  if (cost > options.maxCost) {
    throw limitError(
      LimitReason.QUERY_TOO_COMPLEX,
      `Query is too expensive: it may cost more than ${options.maxCost}`,
      {
        costAtLeast: cost,
        maxCost: options.maxCost,
      },
    );
  }
}
