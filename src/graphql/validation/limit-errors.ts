import { GraphQLError, type ASTNode } from 'graphql';

/**
 * Why a document was refused before it ran, as `extensions.reason` beside the standard code
 * GRAPHQL_VALIDATION_FAILED (which Apollo Server puts on every validation error, so the same
 * pair is used over WebSocket too).
 */
export enum LimitReason {
  QUERY_TOO_DEEP = 'QUERY_TOO_DEEP',
  QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX',
  TOO_MANY_ALIASES = 'TOO_MANY_ALIASES',
  TOO_MANY_OPERATIONS = 'TOO_MANY_OPERATIONS',
  TOO_MANY_SUBSCRIPTIONS = 'TOO_MANY_SUBSCRIPTIONS',
}

export function limitError(
  reason: LimitReason,
  message: string,
  details: Record<string, unknown>,
  nodes?: readonly ASTNode[] | ASTNode,
): GraphQLError {
  return new GraphQLError(message, {
    nodes,
    extensions: { code: 'GRAPHQL_VALIDATION_FAILED', reason, ...details },
  });
}
