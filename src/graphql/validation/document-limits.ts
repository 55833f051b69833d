import {
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { limitError, LimitReason } from './limit-errors.js';

/**
 * Validation rules that bound the shape of a document, run by Apollo (HTTP) and by graphql-ws's
 * onSubscribe (WebSocket) alike. Introspection fields (`__schema`, `__type`, `__typename`) don't
 * count toward depth, like graphql-depth-limit: introspection is bounded by the body size and is
 * off in production.
 */

/**
 * At most `max` levels of fields with selections in any operation (`{ model { owner { id } } }`
 * is 2 deep), fragments followed, cycles ignored.
 */
export function maxDepthRule(max: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of context.getDocument().definitions)
      if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    const depthOf = (set: SelectionSetNode, depth: number, seen: Set<string>): number => {
      // Stop walking as soon as the limit is passed: the exact depth of a huge document is not worth the work.
      if (depth > max) return depth;
      let deepest = depth;
      for (const s of set.selections) {
        if (s.kind === Kind.FIELD) {
          if (s.name.value.startsWith('__') || !s.selectionSet) continue;
          deepest = Math.max(deepest, depthOf(s.selectionSet, depth + 1, seen));
        } else if (s.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, depthOf(s.selectionSet, depth, seen));
        } else {
          const fragment = fragments.get(s.name.value);
          if (!fragment || seen.has(s.name.value)) continue; // unknown or cyclic: other rules report it
          deepest = Math.max(deepest, depthOf(fragment.selectionSet, depth, new Set([...seen, s.name.value])));
        }
        if (deepest > max) break;
      }
      return deepest;
    };
    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, 0, new Set());
        if (depth > max) {
          context.reportError(
            limitError(
              LimitReason.QUERY_TOO_DEEP,
              `Query is nested deeper than ${max} levels`,
              { maxDepth: max, operation: node.name?.value ?? null },
              node,
            ),
          );
        }
      },
    };
  };
}

/** At most `max` aliased fields in the whole document (batching through aliases is a DoS lever). */
export function maxAliasesRule(max: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    let aliases = 0;
    return {
      Field(node) {
        if (node.alias) aliases++;
      },
      Document: {
        leave(node) {
          if (aliases > max) {
            context.reportError(
              limitError(
                LimitReason.TOO_MANY_ALIASES,
                `Document has ${aliases} aliases; at most ${max} are allowed`,
                {
                  aliases,
                  maxAliases: max,
                },
                node.definitions[0],
              ),
            );
          }
        },
      },
    };
  };
}

/** At most `max` operations defined in one document. */
export function maxOperationsRule(max: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    Document(node) {
      const operations = node.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).length;
      if (operations > max) {
        context.reportError(
          limitError(
            LimitReason.TOO_MANY_OPERATIONS,
            `Document defines ${operations} operations; at most ${max} are allowed`,
            { operations, maxOperations: max },
            node.definitions[max],
          ),
        );
      }
    },
  });
}

export type DocumentLimits = { maxDepth: number; maxAliases: number; maxOperations: number };

/** The rules, in the order they should report. */
export function documentLimitRules(limits: DocumentLimits): ValidationRule[] {
  return [maxOperationsRule(limits.maxOperations), maxAliasesRule(limits.maxAliases), maxDepthRule(limits.maxDepth)];
}
